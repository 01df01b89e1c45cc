import './style.css';
import { SALESFORCE_MATCHES } from '@accesslens/shared';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from './start';

export default defineContentScript({
  matches: SALESFORCE_MATCHES,
  runAt: 'document_end',
  cssInjectionMode: 'ui',
  main: (ctx) => startOverlay(ctx),
});
