import { hubspot } from '@accesslens/shared/crm';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';

export default defineContentScript({
  matches: [...hubspot.matches],
  runAt: 'document_start',
  main: (ctx) => startOverlay(ctx, hubspot),
});
