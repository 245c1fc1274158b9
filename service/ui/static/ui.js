/* jobsync UI: small progressive enhancements. Every page works without this file.
 *
 * - confirmations for destructive forms (data-confirm) and job buttons (data-confirm-dialog)
 * - instant log level filter, schedule options that follow "When", override boxes that tick themselves
 * - live job result: polls the page's JSON feed until the run is final.
 * Server text is only ever inserted with textContent, except log messages, which the server has
 * already escaped and rendered (message_html).
 */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  function each(selector, fn, root) {
    Array.prototype.forEach.call((root || document).querySelectorAll(selector), fn);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setupConfirmations() {
    each("form[data-confirm]", function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // the server asks instead
    var pending = null;
    each("form[data-confirm-dialog]", function (form) {
      form.addEventListener("submit", function (event) {
        if (form.querySelector("input[name=confirmed]")) return;
        event.preventDefault();
        pending = form;
        dialog.querySelector("[data-confirm-text]").textContent = form.getAttribute("data-confirm-dialog");
        dialog.returnValue = "";
        dialog.showModal();
      });
    });
    dialog.addEventListener("close", function () {
      if (dialog.returnValue === "confirm" && pending) {
        var confirmed = el("input");
        confirmed.type = "hidden";
        confirmed.name = "confirmed";
        confirmed.value = "yes";
        pending.appendChild(confirmed);
        pending.submit();
      }
      pending = null;
    });
  }

  function setupLevelFilter() {
    var form = document.getElementById("level-filter");
    var log = document.getElementById("log");
    if (!form || !log) return;
    form.addEventListener("change", function () {
      var shown = [];
      each("input[name=level]", function (box) {
        log.classList.toggle("hide-" + box.value, !box.checked);
        if (box.checked) shown.push(box.value);
      }, form);
      var url = new URL(window.location.href);
      url.searchParams.delete("level");
      if (shown.length < form.querySelectorAll("input[name=level]").length) {
        shown.forEach(function (level) { url.searchParams.append("level", level); });
      }
      window.history.replaceState(null, "", url.toString());
    });
  }

  function setupScheduleOptions() {
    var when = document.getElementById("when");
    if (!when) return;
    function update() {
      each("[data-schedule-options] [data-when]", function (field) {
        field.hidden = field.getAttribute("data-when").split(" ").indexOf(when.value) < 0;
      });
    }
    when.addEventListener("change", update);
    update();
  }

  function setupOverrideFlags() {
    each("[data-override-row]", function (row) {
      var flag = row.querySelector("[data-override-flag]");
      row.addEventListener("input", function (event) {
        if (event.target !== flag) flag.checked = true;
      });
    });
  }

  /* --- live job result ------------------------------------------------------------------- */

  function logGroup(log, grouping) {
    var found = null;
    each("section.log-group", function (section) {
      if (section.getAttribute("data-grouping") === grouping) found = section;
    }, log);
    if (found) return found.querySelector("tbody");
    var section = el("section", "log-group");
    section.setAttribute("data-grouping", grouping);
    section.appendChild(el("h3", null, grouping));
    var table = el("table", "log-table");
    var head = el("tr");
    ["Time", "Level", "Object", "Message"].forEach(function (title) { head.appendChild(el("th", null, title)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    section.appendChild(table);
    log.appendChild(section);
    return body;
  }

  function addLine(log, line) {
    var row = el("tr", "l-" + line.level);
    row.appendChild(el("td", "time", line.created));
    row.appendChild(el("td")).appendChild(el("span", "level level-" + line.level, line.level));
    var objectCell = row.appendChild(el("td"));
    if (line.object.text) {
      var label = el("span", null, line.object.text);
      label.title = line.object.title;
      objectCell.appendChild(label);
    }
    var message = row.appendChild(el("td", "message"));
    message.innerHTML = line.message_html; // escaped and rendered by the server (service.ui.markdown)
    logGroup(log, line.grouping).appendChild(row);
    var count = document.querySelector("[data-count='" + line.level + "']");
    if (count) count.textContent = String(Number(count.textContent) + 1);
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) node.textContent = text || "";
    return node;
  }

  function showFiles(files) {
    var list = document.getElementById("files");
    if (!list || !files.length) return;
    list.textContent = "";
    files.forEach(function (file) {
      var item = el("li");
      var link = el("a", null, file.name);
      link.href = file.url;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" "));
      item.appendChild(el("span", "muted", file.size + " bytes"));
      list.appendChild(item);
    });
    document.getElementById("no-files").hidden = true;
  }

  function applyUpdate(live, data) {
    var status = setText("status", data.status);
    if (status) status.className = "badge status " + data.status_class;
    var waiting = setText("waiting-for", data.waiting_for ? "waiting for " + data.waiting_for : "");
    if (waiting) waiting.hidden = !data.waiting_for;
    setText("started", data.started);
    setText("completed", data.completed);
    setText("duration", data.duration);
    var log = document.getElementById("log");
    data.lines.forEach(function (line) { addLine(log, line); });
    live.setAttribute("data-next", String(data.next));
    live.setAttribute("data-cursor", data.cursor || "");
    setText("line-count", data.next + (data.next === 1 ? " line" : " lines"));
    document.getElementById("no-log").hidden = data.next > 0;
    if (data.result !== null) {
      setText("result", data.result).hidden = false;
      document.getElementById("no-result").hidden = true;
    }
    if (data.error) setText("error", data.error).hidden = false;
    if (data.traceback) {
      setText("traceback", data.traceback);
      document.getElementById("traceback-box").hidden = false;
    }
    var title = document.title.split(" · ");
    if (title.length === 3) document.title = [title[0], data.status, title[2]].join(" · ");
    if (data.is_final && !data.more) {
      live.setAttribute("data-final", "true");
      var cancel = document.getElementById("cancel-form");
      if (cancel) cancel.hidden = true;
      if (data.result === null) setText("no-result", "No result.");
      showFiles(data.files);
    }
  }

  function setupLive() {
    var live = document.getElementById("live");
    if (!live || live.getAttribute("data-final") === "true") return;
    var url = live.getAttribute("data-live-url");
    var interval = Number(live.getAttribute("data-poll-ms")) || 1000;
    function poll() {
      var after = live.getAttribute("data-next");
      var cursor = live.getAttribute("data-cursor") || "";
      fetch(url + "?after=" + encodeURIComponent(after) + "&cursor=" + encodeURIComponent(cursor), {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (live.getAttribute("data-next") !== after) return; // a slower answer arrived late
          applyUpdate(live, data);
          if (data.more) window.setTimeout(poll, 0); // a long log arrives in batches
          else if (!data.is_final) window.setTimeout(poll, interval);
        })
        .catch(function () { window.setTimeout(poll, interval * 4); });
    }
    window.setTimeout(poll, Math.min(interval, 300));
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupConfirmations();
    setupLevelFilter();
    setupScheduleOptions();
    setupOverrideFlags();
    setupLive();
  });
})();
