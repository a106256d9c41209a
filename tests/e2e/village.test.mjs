// The village map: a day's records are drawn as markers coloured by their geo verdict with the
// colours of the legend beside the map, and a record outside the village gets the outside colour.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEMO_LOGINS, addDays, apiGet, apiLogin, assertNoErrors, countyDateOf, countyNow, demoAndBrowser, gotoRoute, login,
  newPage, screenshot,
} from './harness.mjs';

const session = demoAndBrowser();

// The verdict the map colours a record by (as api/console/assets/pages/village.js does).
const geoOf = (r) => (r.verdict?.geo || r.verdict?.household_check || 'none');

// Reads the demo month's records of the whole county through the export the map itself uses,
// and picks a village and day with a positioned record outside the village and one inside.
async function pickVillageDay() {
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.supervisor);
  const today = countyNow().date;
  const text = await apiGet(session.demo.url, token, '/v1/units/341322/records/export', {
    query: { from: addDays(today, -31), to: today, format: 'ndjson' }, text: true,
  });
  const records = text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
  const byDay = new Map();
  for (const r of records) {
    if (!r.unit_code || !r.position) continue;
    const key = `${r.unit_code} ${countyDateOf(r.captured_at)}`;
    byDay.set(key, [...(byDay.get(key) ?? []), r]);
  }
  for (const [key, list] of byDay) {
    const outside = list.find((r) => geoOf(r) === 'outside');
    const inside = list.find((r) => geoOf(r) === 'inside');
    if (outside && inside) {
      const [code, date] = key.split(' ');
      return { token, code, date, outside, inside };
    }
  }
  const outsides = records.filter((r) => geoOf(r) === 'outside').length;
  throw new Error(`the demo should have a village day with a record outside the village and one inside (${records.length} records, ${outsides} outside)`);
}

// Computed colours of one record's marker and accuracy circle, and of the legend's swatch.
function colours(page, recordId, verdict) {
  return page.evaluate(([id, v]) => {
    const marker = document.querySelector(`path[data-testid="record-marker"][data-record-id="${id}"]`);
    const circle = document.querySelector(`path[data-testid="accuracy-circle"][data-record-id="${id}"]`);
    const swatch = document.querySelector(`[data-testid="map-legend"] [data-legend="${v}"] .swatch`);
    const row = document.querySelector(`[data-testid="map-records-table"] tr[data-record-id="${id}"]`);
    const chip = row && row.querySelector('.verdict-chip');
    const cs = (el, pseudo) => (el ? getComputedStyle(el, pseudo) : null);
    return {
      markerClass: marker ? marker.getAttribute('class') : null,
      markerVerdict: marker ? marker.dataset.verdict : null,
      markerFill: cs(marker)?.fill ?? null,
      markerStroke: cs(marker)?.stroke ?? null,
      circleStroke: cs(circle)?.stroke ?? null,
      swatch: cs(swatch)?.backgroundColor ?? null,
      legendText: swatch ? swatch.parentElement.textContent.trim() : null,
      rowVerdict: row ? row.dataset.verdict : null,
      chip: cs(chip, '::before')?.backgroundColor ?? null,
    };
  }, [recordId, verdict]);
}

test('a record marker is drawn in its verdict’s legend colour, and one outside the village in the outside colour', async (t) => {
  const { token, code, date, outside, inside } = await pickVillageDay();
  t.diagnostic(`village ${code} on ${date}: outside ${outside.id}, inside ${inside.id}`);
  const expected = await apiGet(session.demo.url, token, `/v1/units/${code}/records/export`, { query: { from: date, to: date, format: 'ndjson' }, text: true });
  const positioned = expected.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l)).filter((r) => r.position);

  const page = await newPage(session.browser);
  try {
    const { username, password } = DEMO_LOGINS.supervisor;
    await login(page, session.demo.url, username, password);
    const root = await gotoRoute(page, `#/village/${code}?date=${date}`, 'village');
    assert.equal(await root.getAttribute('data-unit-code'), code);
    await page.locator(`[data-testid=map-records-table] tr[data-record-id="${outside.id}"]`).waitFor();
    await page.locator(`path[data-testid=record-marker][data-record-id="${outside.id}"]`).waitFor({ state: 'attached' });
    assert.equal(await page.getByTestId('map-date').inputValue(), date, 'the date picker shows the day asked for');

    // Every positioned record of the day is one marker, with its verdict.
    const drawn = await page.locator('path[data-testid=record-marker]').evaluateAll((els) => els.map((e) => [e.dataset.recordId, e.dataset.verdict]));
    assert.deepEqual(new Map(drawn), new Map(positioned.map((r) => [r.id, geoOf(r)])),
      'the map should draw one marker per positioned record of the day, with the verdict the API gives it');

    // Every marker of the day lies within the map's view, the one outside the village too.
    const inView = (recordId) => {
      const map = document.querySelector('[data-testid=village-map]').getBoundingClientRect();
      const m = document.querySelector(`path[data-testid="record-marker"][data-record-id="${recordId}"]`).getBoundingClientRect();
      return m.width > 0 && m.left >= map.left && m.right <= map.right && m.top >= map.top && m.bottom <= map.bottom;
    };
    for (const [id] of drawn) {
      // (the map may still be zooming out to it)
      await page.waitForFunction(inView, id, { timeout: 5_000 }).catch(() => {});
      assert.ok(await page.evaluate(inView, id), `the marker of record ${id}${id === outside.id ? ' (outside the village)' : ''} should be within the map's view`);
    }

    const out = await colours(page, outside.id, 'outside');
    const ins = await colours(page, inside.id, 'inside');
    t.diagnostic(`outside: ${JSON.stringify(out)}`);
    t.diagnostic(`inside: ${JSON.stringify(ins)}`);
    for (const [what, c, verdict, label] of [['outside', out, 'outside', '村外'], ['inside', ins, 'inside', '村内']]) {
      assert.match(c.markerClass ?? '', new RegExp(`\\brecord-marker\\b.*\\bverdict-${verdict}\\b`), `the ${what} record's marker should have the class verdict-${verdict}`);
      assert.equal(c.markerVerdict, verdict, `the ${what} record's marker should say data-verdict=${verdict}`);
      assert.ok(c.swatch && c.swatch !== 'rgba(0, 0, 0, 0)', `the legend should have a coloured swatch for ${verdict}`);
      assert.equal(c.legendText, label, `the legend entry for ${verdict} should read ${label}`);
      assert.equal(c.markerFill, c.swatch, `the ${what} record's marker fill should be the legend colour of ${verdict}`);
      assert.equal(c.circleStroke, c.swatch, `the ${what} record's accuracy circle should be outlined in the legend colour of ${verdict}`);
      assert.equal(c.rowVerdict, verdict, `the ${what} record's table row should say ${verdict}`);
      assert.equal(c.chip, c.swatch, `the ${what} record's verdict chip in the table should have the legend colour of ${verdict}`);
    }
    assert.equal(out.swatch, 'rgb(185, 28, 28)', 'the outside colour is the console’s red (#b91c1c)');
    assert.equal(ins.swatch, 'rgb(21, 128, 61)', 'the inside colour is the console’s green (#15803d)');
    assert.equal(out.markerStroke, 'rgb(255, 255, 255)', 'markers have a white outline');

    // The other legend entries have their own colours, distinct from each other.
    const swatches = await page.locator('[data-testid=map-legend] li[data-legend] .swatch.dot').evaluateAll((els) => els.map((e) => getComputedStyle(e).backgroundColor));
    assert.equal(new Set(swatches).size, 4, `the four verdicts should have four colours in the legend, got ${swatches.join(', ')}`);
    await screenshot(page, 'village-verdicts');
    assertNoErrors(page, `the map of ${code} on ${date}`);
  } finally {
    await page.context().close();
  }
});

test('leaving the map while it zooms throws nothing', async () => {
  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.supervisor.username, DEMO_LOGINS.supervisor.password);
    await gotoRoute(page, '#/village/341322100201', 'village');
    await page.getByTestId('map-records-table').or(page.getByTestId('map-records-table-empty')).first().waitFor();
    // Zoom in and leave at once, in the middle of the zoom animation.
    await page.locator('[data-testid=village-map] .leaflet-control-zoom-in').click();
    await gotoRoute(page, '#/units', 'units');
    // Leaflet ends a zoom animation from a fixed 250 ms timer: wait past it (the one fixed
    // wait here, for a library timer that nothing on the page shows).
    await page.evaluate(() => new Promise((resolve) => { setTimeout(resolve, 400); }));
    await page.getByTestId('summary-cards').waitFor({ timeout: 20_000 });
    assertNoErrors(page, 'the units page after leaving a zooming map');
  } finally {
    await page.context().close();
  }
});
