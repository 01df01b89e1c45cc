/**
 * In-house CRMs: not in the manifest. The background registers this script at run time
 * (`scripting.registerContentScripts`) for exactly the hosts an admin set up and the person allowed.
 */
import { defineContentScript } from 'wxt/utils/define-content-script';
import { startOverlay } from '../../overlay/start';
import { startFlags } from '../../flags/start';

export default defineContentScript({
  registration: 'runtime',
  main: (ctx) => {
    void startOverlay(ctx, null);
    void startFlags(ctx, null);
  },
});
