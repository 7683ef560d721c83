// Fitting a diagram into its canvas: to the width (leaving `left` pixels free for the palette), never
// below a readable scale; a diagram wider than that is shown from its left edge and can be panned.
export const MIN_SCALE = 0.6;
export const MAX_SCALE = 1.2;

export function fitBeside(canvas, left = 0, minScale = MIN_SCALE, opts = {}) {
  const size = canvas.getSize();
  const box = canvas.getActiveLayer ? canvas.getActiveLayer().getBBox() : null;
  const inner = box && box.width ? box : canvas.viewbox().inner;
  if (!inner || !inner.width) return canvas.zoom();
  const margin = 20;
  const width = Math.max(100, size.width - left - 2 * margin);
  const height = Math.max(100, size.height - 2 * margin);
  let scale = Math.min(width / inner.width, opts.height === false ? MAX_SCALE : height / inner.height, MAX_SCALE);
  scale = Math.max(scale, minScale);
  canvas.viewbox({
    x: inner.x - (left + margin) / scale,
    y: inner.y - margin / scale,
    width: size.width / scale,
    height: size.height / scale,
  });
  return scale;
}
