import './style.css';
import { salesforce } from '@accesslens/shared';
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from './start';

export default defineContentScript({
  matches: [...salesforce.matches],
  runAt: 'document_end',
  cssInjectionMode: 'ui',
  main: (ctx) => startOverlay(ctx),
});
