// The monthly bulletin of the county: a sortable table of the cadres' lines, a chart per village,
// and the CSV and XLSX downloads.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  DEMO_LOGINS, apiGet, apiLogin, assertNoErrors, demoAndBrowser, demoMonth, gotoRoute, login, newPage,
} from './harness.mjs';

const session = demoAndBrowser();

const COUNTY = '341322';
const CSV_HEADER = '乡镇,村,干部,人员编号,是否达标,未达标原因,在村天数,应在村天数,在村夜数,应在村夜数,请假天数,出差天数,走访次数,结对户数,逾期未走访户数,'
  + '抽查在岗,抽查不在岗,抽查请假,抽查出差,抽查迟答,抽查未应答,抽查无法核实,入户核实确认,入户核实否认,负面清单待定,负面清单确认,负面清单排除,预警等级';

// The table's rows as [person id, value of the column `key`'s cell].
function tableColumn(page, key) {
  return page.getByTestId('bulletin-table').evaluate((table, k) => {
    const heads = [...table.querySelectorAll('thead th')];
    const i = heads.findIndex((th) => th.querySelector(`button[data-sort-key="${k}"]`));
    return [...table.querySelectorAll('tbody tr')].map((tr) => [tr.dataset.personId, tr.children[i].textContent.trim()]);
  }, key);
}

async function downloadOf(page, testid) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.getByTestId(testid).click()]);
  const file = await download.path();
  return { name: download.suggestedFilename(), bytes: fs.readFileSync(file) };
}

test('the county bulletin sorts by a column and downloads as CSV and XLSX', async (t) => {
  const month = demoMonth();
  const token = await apiLogin(session.demo.url, DEMO_LOGINS.supervisor);
  const bulletin = await apiGet(session.demo.url, token, `/v1/units/${COUNTY}/bulletin`, { query: { month } });
  const lines = bulletin.townships.flatMap((tw) => tw.villages.flatMap((v) => v.cadres));
  t.diagnostic(`bulletin of ${COUNTY} for ${month}: ${lines.length} lines`);

  const page = await newPage(session.browser);
  try {
    await login(page, session.demo.url, DEMO_LOGINS.supervisor.username, DEMO_LOGINS.supervisor.password);
    await gotoRoute(page, '#/bulletin', 'bulletin');
    // Choose the county and the month in the form, as a person would.
    await page.getByTestId('bulletin-unit').fill(COUNTY);
    await page.getByTestId('bulletin-month').fill(month);
    await page.getByTestId('bulletin-load').click();
    await page.waitForURL(new RegExp(`#/bulletin\\?unit=${COUNTY}&month=${month}$`));
    const rows = page.locator('[data-testid=bulletin-table] tbody tr');
    await page.locator(`[data-testid=bulletin-table] caption`, { hasText: month }).waitFor();
    assert.equal(await rows.count(), lines.length, 'the table should have one row per line of the bulletin');
    assert.match(await page.locator('[data-testid=bulletin-body] h2').innerText(), new RegExp(`萧县.*${month}`), 'the heading names the county and month');
    const figures = await page.locator('[data-testid=bulletin-totals] [data-figure]').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.figure, Number(e.querySelector('dd').textContent)])));
    assert.equal(figures.lines, bulletin.totals.lines, 'the totals should show the number of lines');
    assert.equal(figures.compliant, bulletin.totals.compliant, 'the totals should show the compliant lines');

    // The chart: one stacked bar per village, the segments summing to the village's lines.
    const bars = await page.locator('[data-testid=bulletin-chart] rect.bar').evaluateAll((els) => els.map((e) => [e.dataset.item, e.dataset.series, Number(e.dataset.value)]));
    const villages = bulletin.townships.flatMap((tw) => tw.villages);
    assert.equal(new Set(bars.map(([item]) => item)).size, villages.length, 'the chart should have a bar for each of the 12 villages');
    for (const v of villages) {
      const sum = bars.filter(([item]) => item === v.unit_code).reduce((s, [, , n]) => s + n, 0);
      assert.equal(sum, v.cadres.length, `the bar of ${v.name} should add up to its ${v.cadres.length} lines`);
    }

    // Sorting by days in the village: ascending, then descending; the order changes.
    const key = 'days_in_village';
    const initial = await tableColumn(page, key);
    const values = (list) => list.map(([, v]) => Number(v));
    assert.ok(new Set(values(initial)).size > 1, `the days in the village should differ between cadres in ${month} (got ${values(initial).join(',')})`);
    const header = page.locator(`[data-testid=bulletin-table] button.sort[data-sort-key="${key}"]`);
    await header.click();
    await page.locator(`[data-testid=bulletin-table] th[aria-sort=ascending] button[data-sort-key="${key}"]`).waitFor();
    const ascending = await tableColumn(page, key);
    assert.deepEqual(values(ascending), values(initial).slice().sort((a, b) => a - b), 'a click should sort the rows by days in the village, ascending');
    await header.click();
    await page.locator(`[data-testid=bulletin-table] th[aria-sort=descending] button[data-sort-key="${key}"]`).waitFor();
    const descending = await tableColumn(page, key);
    assert.deepEqual(values(descending), values(initial).slice().sort((a, b) => b - a), 'a second click should sort them descending');
    const order = (list) => list.map(([id]) => id).join(' ');
    assert.ok(order(ascending) !== order(initial) || order(descending) !== order(initial), 'sorting should change the order of the rows');
    assert.deepEqual(new Set(descending.map(([id]) => id)), new Set(initial.map(([id]) => id)), 'sorting keeps every row');
    // Sorting by name (text, Chinese collation) works too.
    await page.locator('[data-testid=bulletin-table] button.sort[data-sort-key="display_name"]').click();
    await page.locator('[data-testid=bulletin-table] th[aria-sort=ascending] button[data-sort-key="display_name"]').waitFor();
    const names = await page.locator('[data-testid=bulletin-table] tbody tr > :first-child').allInnerTexts();
    assert.deepEqual(names, names.slice().sort((a, b) => a.localeCompare(b, 'zh-CN')), 'sorting by cadre should order the names');

    // CSV: the file the server makes, with its BOM and the documented header.
    const csv = await downloadOf(page, 'bulletin-download-csv');
    assert.equal(csv.name, `bulletin-${COUNTY}-${month}.csv`, 'the CSV should be named after the unit and month');
    assert.deepEqual([...csv.bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'the CSV should start with a UTF-8 byte order mark');
    const csvLines = csv.bytes.toString('utf8').slice(1).split('\r\n');
    assert.equal(csvLines[0], CSV_HEADER, 'the CSV header should be the documented one');
    assert.equal(csvLines.filter((l) => l).length, 1 + lines.length + bulletin.townships.length + 1, 'the CSV should hold the header, a row per line, a 合计 row per township and the 总计 row');
    assert.ok(csvLines.some((l) => l.startsWith('总计,')), 'the CSV should end with the 总计 row');
    const fromApi = await apiGet(session.demo.url, token, `/v1/units/${COUNTY}/bulletin`, { query: { month, format: 'csv' }, bytes: true });
    assert.ok(csv.bytes.equals(fromApi), 'the downloaded CSV should be the server’s bytes');

    // XLSX: a zip (OOXML) file.
    const xlsx = await downloadOf(page, 'bulletin-download-xlsx');
    assert.equal(xlsx.name, `bulletin-${COUNTY}-${month}.xlsx`, 'the XLSX should be named after the unit and month');
    assert.equal(xlsx.bytes.subarray(0, 2).toString('latin1'), 'PK', 'the XLSX should be a zip file (start with PK)');
    assert.ok(xlsx.bytes.length > 2000, `the XLSX should hold the table (${xlsx.bytes.length} bytes)`);
    assert.ok(xlsx.bytes.includes(Buffer.from('xl/worksheets/sheet1.xml')), 'the XLSX should hold a worksheet');
    assertNoErrors(page, 'the bulletin page');
  } finally {
    await page.context().close();
  }
});
