/** Most time a hidden window (where animation frames pause) waits for `afterNextPaint`. */
export const PAINT_WAIT_LIMIT_MS = 150;

/** Resolves once the next frame has been drawn: the first animation frame callback runs
 *  before that frame is painted, the second one after it. In a hidden window, after
 *  `PAINT_WAIT_LIMIT_MS` at most. */
export function afterNextPaint(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, PAINT_WAIT_LIMIT_MS);
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        clearTimeout(timer);
        resolve();
      }),
    );
  });
}
