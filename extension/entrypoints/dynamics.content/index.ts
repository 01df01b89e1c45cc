import { dynamics } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { dynamicsLiveCheck } from '../../overlay/dynamics-check';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  matches: [...dynamics.matches],
  runAt: 'document_start',
  main: (ctx) => {
    // After a grant, the page's own Web API (same origin, the page's session) answers whether it works.
    void startOverlay(ctx, dynamics, dynamicsLiveCheck);
    void startFlags(ctx, dynamics);
  },
});
