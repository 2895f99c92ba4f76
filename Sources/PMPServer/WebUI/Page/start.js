// Starting the page: wiring the controls, reading the URL fragment, and following it when it changes.
function followFragment() {
  applyFragment();
  saveFragment();
  render();
  pollNow();
  maybeRecordOnOpen();
}

function start() {
  loadTokens();
  setUpHostBar();
  setUpCancelDialog();
  setUpTokenDialog();
  setUpFlameControls();
  document.addEventListener("pointerdown", () => { pointerDownAt = Date.now(); }, true);
  for (const type of ["pointerup", "pointercancel", "click"]) {
    document.addEventListener(type, () => { pointerDownAt = 0; }, true);
  }
  document.addEventListener("visibilitychange", () => { if (!document.hidden) pollNow(); });
  window.addEventListener("hashchange", followFragment);
  followFragment();
}

start();
