/** Only a person's own input acts: events a page script dispatches (`isTrusted` false) are ignored. */
export const trusted =
  <E extends Event>(handler: (e: E) => void) =>
  (e: E) => {
    if (e.isTrusted) handler(e);
  };
