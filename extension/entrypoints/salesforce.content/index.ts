import { salesforce } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { askBackground } from '../../overlay/live';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  matches: [...salesforce.matches],
  runAt: 'document_start',
  // Frames too: Setup shows its user list (and a user's page) as a Classic page framed inside Lightning.
  allFrames: true,
  main: (ctx) => {
    // The overlay belongs to the top page; the flags on user pages to whichever frame shows the users.
    // After a grant, the background asks Salesforce's current-user APIs (it alone reads the session cookie).
    if (window === window.top) void startOverlay(ctx, salesforce, askBackground);
    void startFlags(ctx, salesforce);
  },
});
