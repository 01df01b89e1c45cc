import { dynamics } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  matches: [...dynamics.matches],
  runAt: 'document_start',
  main: (ctx) => {
    void startOverlay(ctx, dynamics);
    void startFlags(ctx, dynamics);
  },
});
