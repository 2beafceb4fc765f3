/**
 * The console's one stylesheet, served as `/console/style.css` (the CSP allows styles from the
 * console's own origin only; no inline styles). Kept as a string so the console needs no file
 * next to it when bundled. Narrow screens: the navigation wraps, tables scroll sideways.
 */
export const STYLESHEET = `:root { color-scheme: light dark; --fg: #1b1f23; --bg: #fff; --muted: #57606a; --line: #d0d7de;
  --accent: #0b5cad; --ok: #116329; --bad: #a40e26; --panel: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #9198a1; --line: #30363d;
  --accent: #58a6ff; --ok: #3fb950; --bad: #f85149; --panel: #161b22; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus, textarea:focus, summary:focus { outline: 3px solid var(--accent); outline-offset: 2px; }
.skip { position: absolute; left: -999px; }
.skip:focus { left: 8px; top: 8px; background: var(--bg); padding: 4px 8px; z-index: 1; }
header { display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: center; justify-content: space-between;
  padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel); }
header nav { display: flex; flex-wrap: wrap; gap: 4px 16px; }
header .brand { font-weight: 700; }
header .who { display: flex; flex-wrap: wrap; gap: 8px; align-items: center; color: var(--muted); }
main { padding: 16px; max-width: 72rem; }
h1 { font-size: 1.5rem; margin: 0 0 12px; word-break: break-all; }
h2 { font-size: 1.15rem; margin: 24px 0 8px; }
.flash { padding: 8px 12px; border: 1px solid var(--line); border-left-width: 6px; margin-bottom: 16px; }
.flash.ok { border-left-color: var(--ok); }
.flash.error { border-left-color: var(--bad); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; min-width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.value, td.path, code { font-family: ui-monospace, monospace; word-break: break-all; white-space: pre-wrap; }
form.inline { display: inline; }
form.stack { display: grid; gap: 8px; max-width: 40rem; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px 16px; align-items: end; }
label { display: grid; gap: 2px; }
label.check { display: flex; gap: 6px; align-items: center; }
fieldset { border: 1px solid var(--line); }
input, select, textarea, button { font: inherit; padding: 4px 8px; max-width: 100%; }
textarea { min-height: 2.5em; }
button { cursor: pointer; border: 1px solid var(--line); background: var(--panel); color: var(--fg); border-radius: 4px; }
button.danger { border-color: var(--bad); color: var(--bad); }
ul.tree { list-style: none; padding-left: 1rem; margin: 0; }
ul.tree.root { padding-left: 0; }
.muted { color: var(--muted); }
.kv { display: grid; grid-template-columns: minmax(8rem, max-content) 1fr; gap: 2px 16px; }
.kv dt { color: var(--muted); }
.kv dd { margin: 0; word-break: break-all; }
.row { display: grid; grid-template-columns: 1fr 2fr; gap: 8px; }
@media (max-width: 40rem) { .row, .kv { grid-template-columns: 1fr; } main { padding: 8px; } }
`;
