import { salesforce } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  matches: [...salesforce.matches],
  runAt: 'document_start',
  // Frames too: Setup shows its user list (and a user's page) as a Classic page framed inside Lightning.
  allFrames: true,
  main: (ctx) => {
    // The overlay belongs to the top page; the flags on user pages to whichever frame shows the users.
    if (window === window.top) void startOverlay(ctx, salesforce);
    void startFlags(ctx, salesforce);
  },
});
