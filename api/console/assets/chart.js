// Horizontal bar charts drawn as SVG (no chart library): one row per item, one segment per
// series, stacked. Each segment has a <title> (hover) and the chart a text summary for
// screen readers.
const NS = 'http://www.w3.org/2000/svg';

function el(tag, attrs, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) node.setAttribute(k, String(v));
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

// items: [{label, values: {seriesKey: number}, id?}], series: [{key, label, className}]
export function stackedBars({ items, series, title, testid, width = Math.max(320, Math.min(640, document.documentElement.clientWidth - 56)), unit = '' }) {
  const rowH = 24;
  const gap = 8;
  const labelW = Math.min(width / 3, 180, Math.max(70, ...items.map((i) => String(i.label).length * 13 + 12)));
  const axisH = 22;
  const height = axisH + items.length * (rowH + gap) + 8;
  const max = Math.max(1, ...items.map((i) => series.reduce((s, x) => s + (i.values[x.key] || 0), 0)));
  const plotW = width - labelW - 40;
  const titleId = `chart-${Math.random().toString(36).slice(2, 8)}`;
  const svg = el('svg', {
    viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart', 'data-testid': testid, preserveAspectRatio: 'xMinYMin meet',
  });
  const summary = items.map((i) => `${i.label}: ${series.map((s) => `${s.label} ${i.values[s.key] || 0}${unit}`).join(', ')}`).join('; ');
  svg.append(el('title', { id: titleId }, `${title}. ${summary}`));
  // Axis ticks.
  const ticks = niceTicks(max);
  for (const tick of ticks) {
    const x = labelW + (tick / max) * plotW;
    svg.append(el('line', { x1: x, x2: x, y1: axisH - 4, y2: height - 4, class: 'grid' }));
    svg.append(el('text', { x, y: axisH - 8, 'text-anchor': 'middle', class: 'tick' }, String(tick)));
  }
  items.forEach((item, row) => {
    const y = axisH + row * (rowH + gap);
    svg.append(el('text', { x: labelW - 8, y: y + rowH / 2 + 5, 'text-anchor': 'end', class: 'label' }, item.label));
    let x = labelW;
    let total = 0;
    for (const s of series) {
      const v = item.values[s.key] || 0;
      total += v;
      if (!v) continue;
      const w = (v / max) * plotW;
      const rect = el('rect', { x, y, width: Math.max(w, 1), height: rowH, class: `bar ${s.className || ''}`, 'data-series': s.key, 'data-value': v, 'data-item': item.id || item.label });
      rect.append(el('title', null, `${item.label} · ${s.label}: ${v}${unit}`));
      svg.append(rect);
      if (w > 22) svg.append(el('text', { x: x + w / 2, y: y + rowH / 2 + 5, 'text-anchor': 'middle', class: 'bar-value' }, String(v)));
      x += w;
    }
    svg.append(el('text', { x: x + 6, y: y + rowH / 2 + 5, class: 'total' }, String(total)));
  });
  return svg;
}

function niceTicks(max) {
  const steps = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000];
  const step = steps.find((s) => max / s <= 6) || Math.ceil(max / 6);
  const out = [];
  for (let v = 0; v <= max; v += step) out.push(v);
  return out;
}

// A legend for the series, as an HTML list (the colours come from the same classes).
export function seriesLegend(series) {
  const ul = document.createElement('ul');
  ul.className = 'legend';
  for (const s of series) {
    const li = document.createElement('li');
    const sw = document.createElementNS(NS, 'svg');
    sw.setAttribute('width', '14');
    sw.setAttribute('height', '14');
    sw.setAttribute('aria-hidden', 'true');
    sw.append(el('rect', { width: 14, height: 14, class: `bar ${s.className || ''}` }));
    li.append(sw, document.createTextNode(` ${s.label}`));
    ul.append(li);
  }
  return ul;
}
