import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';

// See https://wxt.dev/api/config.html
export default defineConfig({
  // Explicit imports everywhere: every name's origin stays visible.
  imports: false,
  manifest: {
    name: 'AccessLens',
    description: '__MSG_extDescription__',
    default_locale: 'en',
    // No host permissions: the server answers CORS for extension origins, and content scripts are
    // declared with their own match patterns. `identity`: single sign-on (launchWebAuthFlow).
    permissions: ['storage', 'alarms', 'identity'],
    action: { default_title: 'AccessLens' },
  },
  vite: () => ({
    plugins: [preact({ prefreshEnabled: false, devToolsEnabled: false })],
  }),
});
