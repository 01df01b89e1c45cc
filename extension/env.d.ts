interface ImportMetaEnv {
  /** True in builds made with ACCESSLENS_E2E=1 (end-to-end tests): the overlay's shadow root is open. */
  readonly ACCESSLENS_E2E: boolean;
}
