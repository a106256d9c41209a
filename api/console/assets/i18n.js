// Every visible string goes through t(). Chinese is the default; English is switchable and the
// choice is kept in localStorage. Dictionaries are flat: 'section.key' → text with {name} slots.
import zh from './strings-zh.js';
import en from './strings-en.js';

const DICTS = { zh, en };
const STORE_KEY = 'ft.lang';
const listeners = new Set();

function initial() {
  try {
    const saved = localStorage.getItem(STORE_KEY);
    if (saved && DICTS[saved]) return saved;
  } catch (_) { /* storage blocked: fall back to the default */ }
  return 'zh';
}

let lang = initial();
document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!DICTS[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORE_KEY, next); } catch (_) { /* not kept */ }
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

// t('calendar.title', {month: '2026-11'}). A missing key falls back to Chinese, then to the key.
export function t(key, vars) {
  let text = DICTS[lang][key];
  if (text === undefined) text = DICTS.zh[key];
  if (text === undefined) return key;
  if (vars) {
    text = text.replace(/\{(\w+)\}/g, (m, name) => (vars[name] === undefined || vars[name] === null ? '' : String(vars[name])));
  }
  return text;
}

// A label for an enumerated API value: tEnum('geo', 'inside'). Unknown values show as sent.
export function tEnum(group, value) {
  if (value === null || value === undefined || value === '') return '—';
  const key = `${group}.${value}`;
  const text = DICTS[lang][key] ?? DICTS.zh[key];
  return text === undefined ? String(value) : text;
}

export function hasKey(key) {
  return DICTS.zh[key] !== undefined;
}
