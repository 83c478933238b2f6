/**
 * Cross-origin isolation, which the core's shared WebAssembly.Memory needs. `npm start` and
 * `vite preview` send the COOP/COEP headers (vite.config.ts). A static host that cannot send
 * headers gets them from the service worker coi-sw.js (web/public), which re-serves every
 * response of this site with the headers added; it takes effect after one reload.
 */
const RELOAD_FLAG = 'hvlab-coi-reload';

/** Resolves true if the page is isolated; false if it is reloading or cannot be isolated. */
export async function ensureIsolation(show: (message: string) => void): Promise<boolean> {
  if (globalThis.crossOriginIsolated) {
    sessionStorage.removeItem(RELOAD_FLAG);
    return true;
  }
  const help = 'hvlab needs a cross-origin isolated page (COOP/COEP headers) for its shared memory; see docs/web.md.';
  if (!('serviceWorker' in navigator) || !window.isSecureContext) {
    show(`${help} This browser or an insecure (non-HTTPS) origin cannot use the service-worker fallback.`);
    return false;
  }
  if (sessionStorage.getItem(RELOAD_FLAG)) {
    // Reloaded once under the service worker and still not isolated: do not loop.
    sessionStorage.removeItem(RELOAD_FLAG);
    show(`${help} The service-worker fallback did not take effect.`);
    return false;
  }
  try {
    const reg = await navigator.serviceWorker.register(new URL('./coi-sw.js', document.baseURI), { scope: './' });
    await navigator.serviceWorker.ready;
    if (!reg.active) throw new Error('the service worker did not activate');
    sessionStorage.setItem(RELOAD_FLAG, '1');
    location.reload();
  } catch (e) {
    show(`${help} The service-worker fallback failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  return false;
}
