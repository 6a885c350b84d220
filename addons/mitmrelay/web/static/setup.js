// mitmrelay's Setup page: plain DOM, no build step (mitmweb's Content-Security-Policy allows
// same-origin script files only; the page is one form, a list of hop rows and a few requests).
"use strict";

const xsrf = document.querySelector('meta[name="xsrf"]').content;
const $ = (id) => document.getElementById(id);
let schemes = [];
let authSchemes = [];
const TEXT_FIELDS = ["listen_host", "ca", "timeout", "cooldown",
    "bypass", "routes", "pac", "socat_dump", "socat_dump_format", "record_dir", "soap_wsdl",
    "soap_replay", "soap_wsse_password", "soap_sign_key", "soap_sign_cert"];
const CHECKBOXES = ["insecure", "from_env", "soap_validate", "soap_mask_secrets",
    "soap_refresh_on_replay", "fallback_direct"];

async function api(path, body) {
    const init = {credentials: "same-origin", headers: {}};
    if (body !== undefined) {
        init.method = "POST";
        init.headers = {"Content-Type": "application/json", "X-XSRFToken": xsrf};
        init.body = JSON.stringify(body);
    }
    const response = await fetch("/mitmrelay/api/" + path, init);
    let data = {};
    try {
        data = await response.json();
    } catch (e) {
        data = {errors: {apply: `${response.status} ${response.statusText}`}};
    }
    return {ok: response.ok, data};
}

function clearErrors() {
    for (const e of document.querySelectorAll(".error")) e.textContent = "";
}

function showErrors(errors) {
    for (const [field, text] of Object.entries(errors || {})) {
        const slot = $("err-" + field) || $("err-apply");
        slot.textContent += (slot.textContent ? "\n" : "") + text;
    }
}

function labelled(row, id, text, input) {
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = text;
    input.id = id;
    row.append(label, input);
    return input;
}

function textInput(size, value) {
    const input = document.createElement("input");
    input.size = size;
    input.value = value ?? "";
    return input;
}

function button(text, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onClick);
    return b;
}

function hopRow(hop) {
    const li = document.createElement("li");
    li.className = "hop";
    li.dataset.keep = hop.keep ? "1" : "";
    const row = document.createElement("div");
    row.className = "row";
    const scheme = document.createElement("select");
    for (const s of schemes) {
        const option = new Option(s.name, s.name);
        option.title = s.proxy;
        scheme.add(option);
    }
    scheme.value = hop.scheme || "socks5h";
    const auth = document.createElement("select");
    auth.add(new Option("the strongest offered", ""));
    for (const name of authSchemes) auth.add(new Option(name, name));
    auth.value = hop.auth || "";
    const password = document.createElement("input");
    password.type = "password";
    password.autocomplete = "new-password";
    if (hop.keep) password.placeholder = "(set, not shown)";
    const fields = {
        scheme: labelled(row, "", "Scheme", scheme),
        host: labelled(row, "", "Host", textInput(20, hop.host)),
        port: labelled(row, "", "Port", textInput(6, hop.port)),
        user: labelled(row, "", "User", textInput(12, hop.user)),
        env: labelled(row, "", "Password from env var", textInput(14, hop.env)),
        password: labelled(row, "", "or type it (kept in memory only)", password),
        auth: labelled(row, "", "Proxy auth", auth),
    };
    const passwordWanted = () => {
        const known = schemes.find((s) => s.name === scheme.value) || {};
        fields.env.disabled = fields.password.disabled = !known.password;
        fields.auth.disabled = !known.connect;
    };
    scheme.addEventListener("change", () => {
        const known = schemes.find((s) => s.name === scheme.value);
        if (known && !fields.port.value) fields.port.value = known.port;
        passwordWanted();
    });
    passwordWanted();
    const moveUp = button("Move up", () => {
        if (li.previousElementSibling) li.parentNode.insertBefore(li, li.previousElementSibling);
        renumber();
        moveUp.focus();
    });
    const moveDown = button("Move down", () => {
        if (li.nextElementSibling) li.parentNode.insertBefore(li.nextElementSibling, li);
        renumber();
        moveDown.focus();
    });
    row.append(moveUp, moveDown);
    return finishRow(li, row, fields);
}

// A row's Remove button and error slot; its ids are given by renumber(). Once a row is
// removed, the focus goes to the Add button of its list.
function finishRow(li, row, fields) {
    row.append(button("Remove", () => {
        const list = li.parentNode;
        li.remove();
        renumber();
        list.addButton.focus();
    }));
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    li.append(row, error);
    li.fields = fields;
    li.error = error;
    return li;
}

function listenerRow(listener) {
    const li = document.createElement("li");
    const row = document.createElement("div");
    row.className = "row";
    const mode = document.createElement("select");
    for (const [value, text] of [["reverse", "reverse: forward to one server"],
        ["regular", "regular HTTP(S) proxy"], ["socks5", "SOCKS5 proxy"],
        ["other", "other: a mitmproxy mode as written"]]) {
        mode.add(new Option(text, value));
    }
    mode.value = listener.mode || "reverse";
    const fields = {
        mode: labelled(row, "", "Mode", mode),
        server: labelled(row, "", "Forward to server", textInput(34, listener.server)),
        port: labelled(row, "", "on local port", textInput(6, listener.port)),
    };
    fields.server.placeholder = "https://api.partner.example:443";
    const shown = () => {
        fields.server.disabled = !["reverse", "other"].includes(mode.value);
        fields.port.disabled = mode.value === "other";
        fields.server.previousElementSibling.textContent =
            mode.value === "other" ? "Mode as written" : "Forward to server";
    };
    mode.addEventListener("change", shown);
    shown();
    return finishRow(li, row, fields);
}

// An alternative chain (`A | B`): its own hop rows, tried when the chains before it fail.
function alternativeBox(hops) {
    const box = document.createElement("fieldset");
    box.className = "alternative";
    const legend = document.createElement("legend");
    const list = document.createElement("ol");
    list.append(...hops.map(hopRow));
    list.addButton = button("Add hop", () => {
        list.append(hopRow({scheme: "socks5h", port: 1080}));
        renumber();
        list.lastElementChild.fields.host.focus();
    });
    const remove = button("Remove this alternative", () => {
        box.remove();
        renumber();
        $("add-alternative").focus();
    });
    const error = document.createElement("p");
    error.className = "error";
    error.setAttribute("role", "alert");
    box.append(legend, list, list.addButton, remove, error);
    Object.assign(box, {list, legend, error});
    return box;
}

// Ids and labels follow the row's place: hop-2-host is the host of the second hop,
// listen-1-port the port of the first listener.
function renumber() {
    const lists = [[$("hops"), "hop", "hop"], [$("listeners"), "listen", "listener"]];
    [...$("alternatives").children].forEach((box, i) => {
        const a = i + 2;
        box.legend.textContent = `Alternative ${a}: tried when the chains before it fail`;
        box.error.id = `err-alt-${a}`;
        box.list.addButton.id = `alt-${a}-add-hop`;
        lists.push([box.list, `alt-${a}-hop`, `alternative ${a}, hop`]);
    });
    for (const [list, prefix, words] of lists) {
        const rows = [...list.children];
        rows.forEach((li, i) => {
            const n = i + 1;
            li.error.id = `err-${prefix}-${n}`;
            for (const [name, input] of Object.entries(li.fields)) {
                input.id = `${prefix}-${n}-${name}`;
                input.previousElementSibling.htmlFor = input.id;
                input.setAttribute("aria-describedby", li.error.id);
            }
            li.setAttribute("aria-label", `${words} ${n} of ${rows.length}`);
        });
    }
}

function fillForm(form) {
    for (const name of TEXT_FIELDS) $(name).value = form[name] ?? "";
    for (const name of CHECKBOXES) $(name).checked = !!form[name];
    $("hops").replaceChildren(...(form.hops || []).map(hopRow));
    $("listeners").replaceChildren(...(form.listeners || []).map(listenerRow));
    $("alternatives").replaceChildren(...(form.alternatives || []).map(alternativeBox));
    renumber();
    $("notes").replaceChildren(...listItems(form.notes));
}

function readForm() {
    const form = {};
    for (const name of TEXT_FIELDS) form[name] = $(name).value;
    for (const name of CHECKBOXES) form[name] = $(name).checked;
    const rows = (list) => [...list.children].map((li) => {
        const row = {keep: li.dataset.keep === "1"};
        for (const [name, input] of Object.entries(li.fields)) {
            row[name] = input.disabled ? "" : input.value;
        }
        return row;
    });
    form.hops = rows($("hops"));
    form.listeners = rows($("listeners"));
    form.alternatives = [...$("alternatives").children].map((box) => rows(box.list));
    return form;
}

function forgetPasswords() {
    for (const input of document.querySelectorAll('#setup input[type="password"]')) input.value = "";
}

async function applyForm(event) {
    event.preventDefault();
    clearErrors();
    $("apply-status").textContent = "applying…";
    const {ok, data} = await api("apply", {form: readForm()});
    forgetPasswords();
    if (ok) {
        fillForm(data.form);
        $("apply-status").textContent = "applied";
        showWsdls();
    } else {
        $("apply-status").textContent = "not applied";
        showErrors(data.errors);
    }
}

function listItems(texts) {
    return (texts || []).map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
    });
}

async function showWsdls() {
    const {data} = await api("wsdls");
    const items = listItems(data.wsdls);
    $("wsdls").replaceChildren(...(items.length ? items : listItems(["none yet"])));
}

function stepClass(line) {
    const word = line.trim().split(/\s+/)[0];
    if (word === "ok" || line.startsWith("reached")) return "ok";
    if (word === "FAIL" || word === "FAILED") return "fail";
    if (word === "note") return "note";
    return "info";
}

async function runCheck(event) {
    event.preventDefault();
    clearErrors();
    $("steps").replaceChildren();
    $("check-result").textContent = "checking…";
    $("check-result").className = "";
    const {ok, data} = await api("check", {target: $("target").value});
    if (!ok) {
        $("check-result").textContent = "";
        showErrors(data.errors);
        return;
    }
    let shown = 0;
    for (;;) {
        const poll = await api("check/" + data.id);
        for (const line of poll.data.lines.slice(shown)) {
            const li = document.createElement("li");
            li.className = stepClass(line);
            li.textContent = line.trim();
            $("steps").append(li);
        }
        shown = poll.data.lines.length;
        if (poll.data.done) {
            $("check-result").textContent = poll.data.reached ? "reached" : "failed";
            $("check-result").className = poll.data.reached ? "ok" : "fail";
            return;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

async function probeRoute(event) {
    event.preventDefault();
    clearErrors();
    const {ok, data} = await api("route", {
        host: $("probe_host").value, port: $("probe_port").value, form: readForm(),
    });
    $("route-result").textContent = ok ? data.route : "";
    if (!ok) showErrors(data.errors);
}

async function loadRecipe(event) {
    event.preventDefault();
    clearErrors();
    const {ok, data} = await api("recipe?name=" + encodeURIComponent($("recipe").value));
    if (!ok) return showErrors(data.errors);
    fillForm(data.form);
    $("description").value = data.description;
    $("recipe_name").value = $("recipe").value;
    $("apply-status").textContent = `loaded ${data.path}: not applied yet`;
}

// The name a save was refused for because a recipe of that name exists: the button then says
// Replace, and only a second click on it, for the same name, replaces that file.
let replacing = null;

function stopReplacing() {
    replacing = null;
    $("save").textContent = "Save as recipe";
}

async function recipe(save) {
    clearErrors();
    $("saved").textContent = "";
    const name = $("recipe_name").value;
    const {ok, data} = await api("recipe/save", {
        form: readForm(), name, description: $("description").value, save,
        replace: save && replacing === name,
    });
    $("yaml").textContent = data.yaml || "";
    $("problems").replaceChildren(...listItems(data.problems));
    stopReplacing();
    if (data.exists) {
        replacing = name;
        $("save").textContent = `Replace ${name}`;
    }
    if (!ok) return showErrors(data.errors);
    if (data.saved) {
        $("saved").textContent = `saved as ${data.saved}`;
        $("download").href = "/mitmrelay/" + data.download;
        $("download").download = $("recipe_name").value + ".yaml";
        $("download").hidden = false;
        forgetPasswords();
    }
}

async function start() {
    const {data} = await api("state");
    schemes = data.schemes;
    authSchemes = data.auth;
    for (const format of data.formats) $("socat_dump_format").add(new Option(format, format));
    for (const name of data.recipes) $("recipe").add(new Option(name, name));
    $("recipe_name").placeholder = `my-setup (into ${data.recipe_dir})`;
    $("hops").addButton = $("add-hop");
    $("listeners").addButton = $("add-listener");
    fillForm(data.form);
    $("add-alternative").addEventListener("click", () => {
        $("alternatives").append(alternativeBox([hopRow({scheme: "socks5h", port: 1080})]));
        renumber();
        $("alternatives").lastElementChild.list.firstElementChild.fields.host.focus();
    });
    $("add-listener").addEventListener("click", () => {
        $("listeners").append(listenerRow({mode: "reverse"}));
        renumber();
        $("listeners").lastElementChild.fields.server.focus();
    });
    $("add-hop").addEventListener("click", () => {
        $("hops").append(hopRow({scheme: "socks5h", port: 1080}));
        renumber();
        $("hops").lastElementChild.fields.host.focus();
    });
    $("setup").addEventListener("submit", applyForm);
    $("check-form").addEventListener("submit", runCheck);
    $("route-form").addEventListener("submit", probeRoute);
    $("load-form").addEventListener("submit", loadRecipe);
    $("save-form").addEventListener("submit", (event) => {
        event.preventDefault();
        recipe(true);
    });
    $("preview").addEventListener("click", () => recipe(false));
    $("recipe_name").addEventListener("input", stopReplacing);
    $("refresh-wsdls").addEventListener("click", showWsdls);
    await showWsdls();
    document.body.dataset.ready = "1";
}

start();
