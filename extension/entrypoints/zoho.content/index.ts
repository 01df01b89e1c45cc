import { zoho } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  matches: [...zoho.matches],
  runAt: 'document_start',
  main: (ctx) => {
    void startOverlay(ctx, zoho);
    void startFlags(ctx, zoho);
  },
});
