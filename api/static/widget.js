/*! newsrag chat widget: answers quoted from the news summaries, each sentence cited to its source.
 * Embed: <script src="https://SERVICE/widget.js" defer></script>, options as data-* attributes:
 * endpoint (default: where this script came from), title, subtitle, placeholder, accent,
 * position ("bottom-right" | "bottom-left"), suggestions ("one question|another").
 * Theming: --newsrag-accent, --newsrag-accent-text, --newsrag-font, --newsrag-radius on the page.
 * API: window.NewsragWidget.open() / .close() / .ask(question).
 * Safety: service data only ever becomes text nodes; only http(s) URLs become links.
 */
(() => {
  "use strict";
  if (window.NewsragWidget) return;

  const script = document.currentScript || document.querySelector("script[src*='widget.js']");
  const data = (script && script.dataset) || {};
  const opt = {
    endpoint: endpointOf(data.endpoint, script && script.src),
    title: data.title || "Ask the news",
    subtitle: data.subtitle || "Answers quoted from our news summaries",
    placeholder: data.placeholder || "Ask about the news…",
    accent: data.accent || "",
    left: data.position === "bottom-left",
    suggestions: (data.suggestions || "").split("|").map((s) => s.trim()).filter(Boolean).slice(0, 4),
  };
  const TIMEOUT_MS = 30000;
  const MAX_TURNS = 10; // the API keeps at most 10 earlier turns
  const MAX_QUESTION = 1000;
  const MAX_ANSWER = 5000;

  function endpointOf(given, src) {
    try {
      const url = given ? new URL(given, location.href) : new URL(".", src || location.href);
      return url.href.replace(/\/+$/, "");
    } catch (e) {
      return location.origin;
    }
  }

  const STYLE = `
:host{all:initial!important;display:block!important}
*,*::before,*::after{box-sizing:border-box}
.root{--a:var(--newsrag-accent,#0b57b3);--at:var(--newsrag-accent-text,#fff);--bg:#fff;--fg:#17202c;--mut:#5b6676;
--line:#e2e6ec;--soft:#f5f7fa;--tint:color-mix(in srgb,var(--a) 12%,#fff);--r:var(--newsrag-radius,18px);--z:2147483000;
font:15px/1.5 var(--newsrag-font,-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif);
color:var(--fg);text-align:left}
button{font:inherit;color:inherit;background:none;border:0;margin:0;padding:0;cursor:pointer}
p,h2,h3,ul{margin:0;padding:0}
[hidden]{display:none!important}
:focus-visible{outline:2px solid var(--a);outline-offset:2px}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.launcher{position:fixed;z-index:var(--z);bottom:20px;right:20px;height:52px;padding:0 20px 0 16px;border-radius:26px;
display:flex;align-items:center;gap:8px;background:var(--a);color:var(--at);font-weight:600;font-size:15px;
box-shadow:0 8px 24px -6px rgba(12,22,40,.45),0 2px 6px rgba(12,22,40,.15);transition:transform .15s,box-shadow .15s}
.launcher:hover{transform:translateY(-1px)}
.left .launcher{right:auto;left:20px}
.open .launcher{width:52px;padding:0;justify-content:center}
.open .lbl{display:none}
.panel{position:fixed;z-index:var(--z);right:20px;bottom:84px;width:420px;max-width:calc(100vw - 40px);
height:640px;max-height:calc(100vh - 108px);display:flex;flex-direction:column;overflow:hidden;background:var(--bg);
border-radius:var(--r);box-shadow:0 24px 64px -12px rgba(12,22,40,.4),0 0 0 1px rgba(12,22,40,.07);
animation:pop .18s ease-out;transform-origin:bottom right}
.left .panel{right:auto;left:20px;transform-origin:bottom left}
@keyframes pop{from{opacity:0;transform:translateY(10px) scale(.98)}}
@media (max-width:520px){.panel{inset:0;width:auto;height:auto;max-width:none;max-height:none;border-radius:0}
.open .launcher{display:none}
.launcher{width:52px;padding:0;justify-content:center}
.lbl{display:none}}
@media (prefers-reduced-motion:reduce){.panel,.dots i{animation:none}}
.head{display:flex;align-items:center;gap:12px;padding:14px 10px 14px 16px;background:var(--a);color:var(--at)}
.head :focus-visible{outline-color:currentColor}
.logo{flex:none;width:38px;height:38px;border-radius:12px;display:grid;place-items:center;background:rgba(255,255,255,.16)}
.titles{flex:1;min-width:0}
.title{font-size:16.5px;font-weight:700;line-height:1.25;letter-spacing:-.01em}
.sub{font-size:12.5px;opacity:.82;line-height:1.35}
.ib{flex:none;width:36px;height:36px;border-radius:10px;display:grid;place-items:center;opacity:.9}
.ib:hover{background:rgba(255,255,255,.16);opacity:1}
.log{flex:1;overflow-y:auto;overscroll-behavior:contain;padding:18px 14px 8px;display:flex;flex-direction:column;gap:14px;
background:var(--soft)}
.welcome{margin:auto 0;padding:8px 6px 12px;text-align:center}
.welcome h3{font-size:17px;font-weight:700;margin:10px 0 4px;color:var(--fg)}
.welcome p{color:var(--mut);font-size:14px;max-width:310px;margin:0 auto;text-wrap:balance}
.badge{width:48px;height:48px;margin:0 auto;border-radius:16px;display:grid;place-items:center;color:var(--a);
background:var(--tint)}
.sugg{display:flex;flex-direction:column;gap:8px;margin-top:18px}
.sugg button{text-align:left;padding:10px 14px;border-radius:12px;background:var(--bg);border:1px solid var(--line);
font-size:14px;line-height:1.4;color:var(--fg);transition:border-color .15s,color .15s}
.sugg button:hover{border-color:var(--a);color:var(--a)}
.msg{display:flex;gap:8px;align-items:flex-start}
.user{justify-content:flex-end}
.user .bubble{max-width:85%;padding:9px 14px;border-radius:18px 18px 4px 18px;background:var(--a);color:var(--at);
white-space:pre-wrap;overflow-wrap:anywhere}
.av{flex:none;width:28px;height:28px;margin-top:2px;border-radius:9px;display:grid;place-items:center;color:var(--a);
background:var(--tint)}
.bot .bubble{min-width:0;max-width:calc(100% - 36px);padding:12px 14px;border-radius:4px 18px 18px 18px;
background:var(--bg);border:1px solid var(--line);box-shadow:0 1px 2px rgba(12,22,40,.05);overflow-wrap:anywhere}
.tag{display:flex;align-items:center;gap:6px;font-size:11.5px;font-weight:700;letter-spacing:.05em;text-transform:uppercase;
color:var(--mut);margin-bottom:6px}
.answer{line-height:1.6}
.short{font-weight:700;background:linear-gradient(transparent 62%,color-mix(in srgb,var(--a) 22%,transparent) 0)}
.cite{display:inline-flex;align-items:center;justify-content:center;min-width:20px;height:20px;padding:0 6px;margin:0 1px 0 3px;
border-radius:10px;font-size:11.5px;font-weight:700;line-height:1;vertical-align:2px;color:var(--a);
background:var(--tint);transition:background .15s,color .15s}
.cite:hover,.cite[aria-expanded=true]{background:var(--a);color:var(--at)}
.src{margin-top:12px;padding-top:12px;border-top:1px solid var(--line)}
.src-h{display:flex;gap:8px;align-items:flex-start}
.num{flex:none;min-width:20px;height:20px;padding:0 6px;margin-top:1px;border-radius:10px;display:grid;place-items:center;
font-size:11.5px;font-weight:700;background:var(--a);color:var(--at)}
.src-t{flex:1;font-size:14px;font-weight:700;line-height:1.35}
.x{flex:none;width:24px;height:24px;margin:-2px -4px 0 0;border-radius:6px;display:grid;place-items:center;color:var(--mut)}
.x:hover{background:var(--soft);color:var(--fg)}
.meta{font-size:12.5px;color:var(--mut);margin-top:2px}
.passage{position:relative;margin-top:10px;max-height:200px;overflow-y:auto;padding:10px 12px;border-radius:10px;
background:var(--soft);font-size:13.5px;line-height:1.6;color:#3b4656;white-space:pre-wrap}
mark{background:#ffeb99;color:#17202c;border-radius:3px;box-shadow:0 0 0 2px #ffeb99;box-decoration-break:clone;
-webkit-box-decoration-break:clone}
.link{display:inline-flex;align-items:center;gap:4px;margin-top:10px;font-size:13px;font-weight:600;color:var(--a);
text-decoration:none}
.link:hover{text-decoration:underline}
.note{font-size:12.5px;color:var(--mut);margin-top:8px}
.abstain .bubble{background:transparent;border:1px dashed #c3cad4;box-shadow:none;color:var(--mut)}
.abstain .av{background:#e9edf2;color:var(--mut)}
.abstain .tag{color:#4a5565}
.rel{list-style:none;display:flex;flex-direction:column;gap:8px;margin-top:10px}
.rel li{padding:9px 11px;border-radius:10px;background:var(--bg);border:1px solid var(--line)}
.rel-t{font-size:12.5px;font-weight:700;color:var(--fg)}
.rel-x{font-size:13px;line-height:1.5;margin-top:4px;color:var(--mut);display:-webkit-box;-webkit-box-orient:vertical;
-webkit-line-clamp:3;overflow:hidden;white-space:pre-wrap}
.rel-x.full{display:block}
.more{font-size:12.5px;font-weight:600;color:var(--a);margin-top:4px}
.acts{display:flex;gap:16px;align-items:center}.acts>*{margin-top:6px}
.err .bubble{background:#fff5f4;border-color:#f2cdc8;color:#8c2114}
.err .av{background:#fde8e6;color:#b42318}
.retry{display:inline-flex;align-items:center;gap:6px;margin-top:10px;padding:6px 12px;border-radius:9px;
border:1px solid #e6aaa2;background:#fff;font-size:13px;font-weight:600;color:#8c2114}
.retry:disabled{opacity:.6;cursor:default}
.dots{display:inline-flex;gap:5px;padding:6px 2px}
.dots i{width:7px;height:7px;border-radius:50%;background:var(--mut);animation:b 1.2s infinite ease-in-out}
.dots i:nth-child(2){animation-delay:.15s}.dots i:nth-child(3){animation-delay:.3s}
@keyframes b{0%,80%,100%{opacity:.25;transform:none}40%{opacity:.85;transform:translateY(-3px)}}
.form{display:flex;gap:8px;align-items:flex-end;padding:12px 12px 8px;background:var(--bg);border-top:1px solid var(--line)}
textarea{flex:1;min-width:0;height:46px;max-height:132px;resize:none;padding:11px 14px;border-radius:14px;
border:1px solid #d3d9e1;background:var(--bg);color:var(--fg);font:inherit;font-size:16px;line-height:1.4;outline:none}
textarea::placeholder{color:#8a94a3;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.nw{white-space:nowrap}
textarea:focus{border-color:var(--a);box-shadow:0 0 0 3px color-mix(in srgb,var(--a) 18%,transparent)}
.send{flex:none;width:46px;height:46px;border-radius:14px;display:grid;place-items:center;background:var(--a);color:var(--at)}
.send:disabled{opacity:.4;cursor:default}
.foot{padding:0 12px 10px;background:var(--bg);font-size:11.5px;color:#8a94a3;text-align:center}
`;

  const ICONS = {
    chat: "M7.9 20A9 9 0 1 0 4 16.1L2 22Z",
    close: "M18 6 6 18M6 6l12 12",
    down: "m6 9 6 6 6-6",
    send: "M22 2 11 13M22 2l-7 20-4-9-9-4Z",
    reset: "M3 12a9 9 0 1 0 9-9 9.75 9.75 0 0 0-6.74 2.74L3 8M3 3v5h5",
    paper:
      "M4 22h16a2 2 0 0 0 2-2V4a2 2 0 0 0-2-2H8a2 2 0 0 0-2 2v16a2 2 0 0 1-2 2Zm0 0a2 2 0 0 1-2-2v-9c0-1.1.9-2 2-2h2" +
      "M18 14h-8M15 18h-5M10 6h8v4h-8Z",
    info: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20ZM12 16v-4M12 8h.01",
    alert: "M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20ZM12 8v4M12 16h.01",
    ext: "M15 3h6v6M10 14 21 3M18 13v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V8a2 2 0 0 1 2-2h6",
  };

  /** An element: props are attributes, "class", "text" (textContent) or on* listeners; strings become text nodes. */
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v == null || v === false) continue;
      if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const kid of kids.flat()) if (kid || kid === 0) el.append(kid); // skips null, false and ""
    return el;
  }

  function icon(name, size = 20) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const attrs = { viewBox: "0 0 24 24", width: size, height: size, fill: "none", stroke: "currentColor" };
    Object.assign(attrs, { "stroke-width": 2, "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": true });
    for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, v);
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.append(path);
    return svg;
  }

  let uid = 0;
  const nextId = (p) => `nr-${p}-${++uid}`;

  /** An href only for absolute http(s) URLs; anything else (javascript:, data:, relative) is not a link. */
  function safeUrl(value) {
    if (typeof value !== "string") return null;
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  /** "Outlet · 5 Dec 2024": the parts that are there. */
  const metaLine = (...parts) => parts.filter(Boolean).join(" · ");

  function storyLink(url) {
    const href = safeUrl(url);
    const props = { class: "link", href, target: "_blank", rel: "noopener noreferrer" };
    return href && h("a", props, "Read the full story", icon("ext", 14));
  }

  function formatDate(value) {
    const date = value ? new Date(value) : null;
    if (!date || isNaN(date)) return "";
    const lang = document.documentElement.lang || undefined; // UTC: a date-only "2024-12-05" stays that day
    return date.toLocaleDateString(lang, { dateStyle: "medium", timeZone: "UTC" });
  }

  const str = (v) => (typeof v === "string" ? v : "");

  // ---- the shell: launcher, panel, log, composer
  const host = document.createElement("newsrag-chat");
  if (opt.accent && window.CSS && CSS.supports("color", opt.accent)) host.style.setProperty("--newsrag-accent", opt.accent);
  const shadow = host.attachShadow({ mode: "open" });
  if (shadow.adoptedStyleSheets && window.CSSStyleSheet && "replaceSync" in CSSStyleSheet.prototype) {
    const sheet = new CSSStyleSheet(); // constructed sheets are not blocked by a host page's style-src CSP
    sheet.replaceSync(STYLE);
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.append(h("style", { text: STYLE }));
  }

  const launcher = h(
    "button",
    { class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "nr-panel", onclick: toggle },
    icon("chat", 22),
    h("span", { class: "lbl", text: opt.title }),
  );
  const log = h("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
  const input = h("textarea", { rows: 1, maxlength: MAX_QUESTION, placeholder: opt.placeholder, enterkeyhint: "send" });
  input.setAttribute("aria-label", "Your question");
  input.addEventListener("keydown", onInputKey);
  input.addEventListener("input", autoGrow);
  const sendBtn = h("button", { class: "send", type: "submit", "aria-label": "Send question" }, icon("send", 19));
  const form = h("form", { class: "form", onsubmit: onSubmit }, input, sendBtn);
  const panel = h(
    "section",
    { class: "panel", id: "nr-panel", role: "dialog", "aria-labelledby": "nr-title", hidden: true },
    h(
      "header",
      { class: "head" },
      h("div", { class: "logo" }, icon("paper", 20)),
      h(
        "div",
        { class: "titles" },
        h("h2", { class: "title", id: "nr-title", text: opt.title }),
        h("p", { class: "sub", text: opt.subtitle }),
      ),
      h("button", { class: "ib", type: "button", "aria-label": "Start a new conversation", onclick: reset }, icon("reset", 18)),
      h("button", { class: "ib", type: "button", "aria-label": "Close", onclick: () => close() }, icon("close", 20)),
    ),
    log,
    form,
    h("p", { class: "foot", text: "Every answer is quoted word for word from a cited summary." }),
  );
  const root = h("div", { class: opt.left ? "root left" : "root" }, panel, launcher);
  shadow.append(root);
  shadow.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && isOpen()) {
      e.preventDefault();
      close();
    }
  });

  const state = { history: [], busy: false, docs: new Map(), talk: 0 }; // talk: which conversation is current
  setLauncher(false);

  function isOpen() {
    return !panel.hidden;
  }
  function setLauncher(open) {
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", open ? `Close ${opt.title}` : `Open ${opt.title}`);
    launcher.replaceChild(icon(open ? "down" : "chat", 22), launcher.firstChild);
  }
  function open() {
    if (!log.firstChild) log.append(welcome());
    panel.hidden = false;
    root.classList.add("open");
    setLauncher(true);
    input.focus();
  }
  function close() {
    if (!isOpen()) return;
    panel.hidden = true;
    root.classList.remove("open");
    setLauncher(false);
    launcher.focus();
  }
  function toggle() {
    isOpen() ? close() : open();
  }
  function reset() {
    state.history = [];
    state.talk += 1;
    log.replaceChildren(welcome());
    input.value = "";
    autoGrow();
    input.focus();
  }

  function welcome() {
    const list = opt.suggestions.map((q) => h("button", { type: "button", onclick: () => submit(q) }, q));
    return h(
      "div",
      { class: "welcome" },
      h("div", { class: "badge" }, icon("chat", 22)),
      h("h3", { text: "What would you like to know?" }),
      h("p", { text: "Ask about the stories we cover: answers are quoted from our summaries, each with its source." }),
      list.length ? h("div", { class: "sugg", role: "group", "aria-label": "Suggested questions" }, list) : null,
    );
  }

  function onInputKey(e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit(input.value);
    }
  }
  function onSubmit(e) {
    e.preventDefault();
    submit(input.value);
  }
  function autoGrow() {
    input.style.height = "";
    input.style.height = Math.min(input.scrollHeight + 2, 132) + "px";
  }

  function submit(text) {
    const question = str(text).trim().slice(0, MAX_QUESTION);
    if (!question || state.busy) return;
    if (!isOpen()) open();
    const w = log.querySelector(".welcome");
    if (w) w.remove();
    input.value = "";
    autoGrow();
    const you = h("span", { class: "sr", text: "You: " });
    log.append(h("div", { class: "msg user" }, h("div", { class: "bubble" }, you, question)));
    ask(question, state.history.slice(-MAX_TURNS));
  }

  function setBusy(busy) {
    state.busy = busy;
    sendBtn.disabled = busy;
  }

  function botMsg(kind, ...content) {
    const av = h("div", { class: "av" }, icon(kind === "err" ? "alert" : kind === "abstain" ? "info" : "paper", 16));
    return h("div", { class: `msg bot ${kind}` }, av, h("div", { class: "bubble" }, ...content));
  }

  /** Scroll to the newest message; a tall answer is shown from its question down instead. */
  function scrollToShow(el) {
    const prev = el.previousElementSibling;
    const from = prev && prev.classList.contains("user") ? prev : el;
    const top = from.offsetTop - log.offsetTop - 12;
    log.scrollTop = el.offsetTop + el.offsetHeight - top > log.clientHeight ? top : log.scrollHeight;
  }

  // ---- asking
  async function ask(question, history, replace) {
    setBusy(true);
    const talk = state.talk;
    const dots = h("span", { class: "dots", "aria-hidden": "true" }, h("i"), h("i"), h("i"));
    const waiting = botMsg("wait", h("span", { class: "sr", text: "Searching the summaries…" }), dots);
    replace ? replace.replaceWith(waiting) : log.append(waiting);
    scrollToShow(waiting);
    let msg;
    try {
      const answer = await postAsk(question, history);
      msg = answer.abstained ? abstention(answer) : answerMsg(answer);
      if (talk === state.talk) state.history = [...state.history, { question, answer: answerText(answer) }].slice(-MAX_TURNS);
    } catch (err) {
      msg = errorMsg(err, () => ask(question, history, msg));
    }
    if (waiting.isConnected) waiting.replaceWith(msg);
    setBusy(false);
    scrollToShow(msg);
  }

  function answerText(answer) {
    if (answer.abstained) return "";
    return (answer.sentences || []).map((s) => s.text).join(" ").slice(0, MAX_ANSWER);
  }

  function problem(kind, message, wait) {
    return Object.assign(new Error(kind), { kind, detail: str(message), wait: wait || 0 });
  }

  async function postAsk(question, history) {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
    let res;
    try {
      const body = JSON.stringify({ question, history });
      const headers = { "Content-Type": "application/json" };
      res = await fetch(`${opt.endpoint}/v1/ask`, { method: "POST", credentials: "omit", headers, body, signal: ctl.signal });
      if (res.ok) return await res.json();
    } catch (e) {
      throw problem(ctl.signal.aborted ? "timeout" : res ? "server" : "network");
    } finally {
      clearTimeout(timer);
    }
    const body = await res.json().catch(() => null);
    const message = body && body.error && body.error.message;
    if (res.status === 429) throw problem("rate", message, retryAfter(res.headers.get("Retry-After")));
    throw problem(res.status >= 500 ? "server" : "client", message);
  }

  /** Seconds to wait, from a Retry-After header (the service sends whole seconds). */
  const retryAfter = (value) => Math.max(1, Math.ceil(Number(value) || 5));

  const ERRORS = {
    network: "We couldn't reach the news service. Check your connection and try again.",
    timeout: "The news service is taking too long to answer. Please try again.",
    server: "Something went wrong on our side. Please try again in a moment.",
    rate: "You're asking faster than we can answer.",
    client: "This question couldn't be answered.",
  };

  function errorMsg(err, retry) {
    const kind = ERRORS[err.kind] ? err.kind : "server";
    const text = kind === "client" && err.detail ? err.detail : ERRORS[kind];
    const line = h("p", { text });
    const content = [h("div", { class: "tag" }, "Couldn't answer"), line];
    if (kind !== "client") {
      const onclick = () => state.busy || retry();
      const btn = h("button", { class: "retry", type: "button", onclick }, icon("reset", 14), "Try again");
      content.push(btn);
      if (kind === "rate") countdown(btn, line, err.wait);
    }
    return botMsg("err", ...content);
  }

  /** Keep the retry button disabled, counting down, until the service's Retry-After has passed. */
  function countdown(btn, line, seconds) {
    const label = btn.lastChild;
    const tick = () => {
      const wait = seconds > 0;
      line.textContent = ERRORS.rate + (wait ? ` Please wait ${seconds} s, then try again.` : " You can try again now.");
      label.textContent = wait ? `Try again in ${seconds} s` : "Try again";
      btn.disabled = wait;
      seconds -= 1;
      if (wait) setTimeout(tick, 1000);
    };
    tick();
  }

  // ---- answers
  function answerMsg(answer) {
    const sources = new Map((answer.sources || []).map((s) => [s.number, s]));
    const card = h("div", { class: "src", id: nextId("src"), hidden: true });
    const text = h("p", { class: "answer" });
    let short = answer.short_answer;
    (answer.sentences || []).forEach((sentence, i) => {
      if (i) text.append(" ");
      const [nodes, used] = sentenceNodes(sentence, short);
      if (used) short = null;
      const cite = (c) => citeChip(c, sources.get(c.number), sentence, card, answer.short_answer);
      const chips = (sentence.citations || []).map(cite);
      let tail = ""; // the sentence's last word keeps its chips on its line
      const last = nodes[nodes.length - 1];
      if (typeof last === "string") {
        const cut = last.lastIndexOf(" ") + 1;
        nodes[nodes.length - 1] = last.slice(0, cut);
        tail = last.slice(cut);
      }
      text.append(...nodes, h("span", { class: "nw" }, tail, ...chips));
    });
    return botMsg("answer", h("div", { class: "tag" }, "From the summaries"), text, card);
  }

  /** The sentence as text nodes, the short answer emphasised when it lies inside this sentence. */
  function sentenceNodes(sentence, short) {
    const inside = (c) => short && c.doc_id === short.doc_id && short.start >= c.start && short.end <= c.end;
    const c = (sentence.citations || []).find(inside);
    const nodes = c ? withShort(str(sentence.text), c.start, c.doc_id, short, "short") : [str(sentence.text)];
    return [nodes, nodes.length > 1];
  }

  /** Text that starts at `offset` in document docId, as nodes with the short answer span in <strong>. */
  function withShort(text, offset, docId, short, cls) {
    const a = short && short.doc_id === docId ? short.start - offset : -1;
    const b = a + (short ? short.end - short.start : 0);
    if (a < 0 || b > text.length || a >= b) return [text];
    return [text.slice(0, a), h("strong", { class: cls, text: text.slice(a, b) }), text.slice(b)];
  }

  function citeChip(c, source, sentence, card, short) {
    const title = (source && (str(source.label) || str(source.title) || str(source.source))) || "news summary";
    const label = `Source ${c.number}: ${title}`;
    const props = { class: "cite", type: "button", "aria-expanded": "false", "aria-controls": card.id };
    const chip = h("button", { ...props, "aria-label": label }, c.number);
    chip.addEventListener("click", () => {
      const same = !card.hidden && card.__chip === chip; // the open chip closes its source
      for (const other of chip.closest(".answer").querySelectorAll(".cite")) other.setAttribute("aria-expanded", "false");
      if (same) {
        card.hidden = true;
        card.__chip = null;
        return;
      }
      card.__chip = chip;
      chip.setAttribute("aria-expanded", "true");
      showSource(card, c, source || {}, sentence, short, chip);
    });
    return chip;
  }

  function getDocument(docId) {
    if (!state.docs.has(docId)) {
      const url = `${opt.endpoint}/v1/documents/${encodeURIComponent(docId)}`;
      const pending = fetch(url, { credentials: "omit" }).then((res) => {
        if (!res.ok) throw problem(res.status >= 500 ? "server" : "client");
        return res.json();
      });
      pending.catch(() => state.docs.delete(docId));
      state.docs.set(docId, pending);
    }
    return state.docs.get(docId);
  }

  async function showSource(card, c, source, sentence, short, chip) {
    card.hidden = false;
    card.replaceChildren(h("p", { class: "meta", text: "Loading the source…" }));
    let doc;
    try {
      doc = await getDocument(c.doc_id);
    } catch (e) {
      if (card.__chip !== chip) return;
      const onclick = () => showSource(card, c, source, sentence, short, chip);
      const again = h("button", { class: "more", type: "button", onclick }, "Try again");
      card.replaceChildren(h("p", { class: "note" }, "We couldn't load this source. ", again));
      return;
    }
    if (card.__chip !== chip) return; // another chip was opened meanwhile
    card.replaceChildren(...sourceView(doc, c, source, sentence, short, () => { chip.click(); chip.focus(); }));
    const passage = card.querySelector(".passage");
    const mark = passage.querySelector("mark");
    if (mark) passage.scrollTop = Math.max(0, mark.offsetTop - 28);
    const over = card.getBoundingClientRect().bottom - log.getBoundingClientRect().bottom;
    if (over > 0) log.scrollTop += over + 12;
  }

  function sourceView(doc, c, source, sentence, short, onClose) {
    const text = str(doc.text);
    const title = str(doc.title) || str(source.label) || str(source.title) || "News summary";
    const meta = metaLine(str(doc.source) || str(source.source), formatDate(doc.published_at || source.published_at));
    const quote = str(sentence.text);
    // The offsets point at the sentence, unless the document changed since the answer: then look for it.
    const start = text.slice(c.start, c.end) === quote ? c.start : text.indexOf(quote);
    const found = quote && start >= 0;
    const mark = found && h("mark", null, ...withShort(quote, start, c.doc_id, short));
    const label = `Text of source ${c.number}`;
    const passage = h("div", { class: "passage", tabindex: "0", role: "region", "aria-label": label });
    passage.append(...(found ? [text.slice(0, start), mark, text.slice(start + quote.length)] : [text]));
    return [
      h(
        "div",
        { class: "src-h" },
        h("span", { class: "num", "aria-hidden": "true", text: c.number }),
        h("h3", { class: "src-t", text: title }),
        h("button", { class: "x", type: "button", "aria-label": "Close source", onclick: onClose }, icon("close", 16)),
      ),
      meta ? h("p", { class: "meta", text: meta }) : null,
      passage,
      found ? null : h("p", { class: "note", text: "This source has changed since the answer was given." }),
      storyLink(doc.url || source.url),
    ].filter(Boolean);
  }

  // ---- abstentions
  function abstention(answer) {
    const related = (answer.related || []).slice(0, 3).map(relatedItem);
    return botMsg(
      "abstain",
      h("div", { class: "tag" }, "Not in the summaries"),
      h("p", { text: str(answer.message) || "The summaries do not answer this question." }),
      related.length ? h("p", { class: "note", text: "Related coverage:" }) : null,
      related.length ? h("ul", { class: "rel" }, related) : null,
    );
  }

  function relatedItem(p) {
    const meta = metaLine(str(p.source), formatDate(p.published_at));
    const excerpt = h("p", { class: "rel-x", id: nextId("rel"), text: str(p.text) });
    const props = { class: "more", type: "button", "aria-expanded": "false", "aria-controls": excerpt.id };
    const more = h("button", props, "Show more");
    more.addEventListener("click", () => {
      const full = excerpt.classList.toggle("full");
      more.setAttribute("aria-expanded", String(full));
      more.textContent = full ? "Show less" : "Show more";
    });
    return h(
      "li",
      null,
      str(p.title) && h("p", { class: "rel-t", text: p.title }),
      meta && h("p", { class: "meta", text: meta }),
      excerpt,
      h("div", { class: "acts" }, str(p.text).length > 180 && more, storyLink(p.url)),
    );
  }

  // ---- start
  function mount() {
    document.body.append(host);
  }
  document.body ? mount() : document.addEventListener("DOMContentLoaded", mount);
  window.NewsragWidget = Object.freeze({ open, close, toggle, ask: (question) => (open(), submit(question)) });
})();
