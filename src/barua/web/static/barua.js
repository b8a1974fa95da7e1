// barua's pages work without this script; with it, the settings form shows only the chosen
// protocol's fields, reveals the copy and reply-to addresses behind their boxes, shows the
// password on request, offers the provider's settings for an email address, and shows the
// test email's steps while they happen. No inline script: the page's policy forbids it.
"use strict";

(function () {
  function csrfToken(form) {
    var field = form.querySelector('input[name="csrf_token"]');
    return field ? field.value : "";
  }

  // A link to follow at once (the provider's sign-in page).
  var follow = document.querySelector("a[data-follow]");
  if (follow) { window.location.assign(follow.href); }

  // Submitting a select's form when it changes (the business switcher).
  document.querySelectorAll("[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });

  // A list that refreshes itself while something in it is on its way (the outbox).
  var live = document.querySelector("[data-live]");
  if (live) {
    var refresh = function () {
      fetch(live.getAttribute("data-live"), { credentials: "same-origin" })
        .then(function (answer) {
          if (!answer.ok) { return; }
          var more = answer.headers.get("x-barua-live") === "1";
          return answer.text().then(function (html) {
            // Rendered by barua's own templates, escaped there.
            live.innerHTML = html;
            if (more) { window.setTimeout(refresh, 2000); }
          });
        })
        .catch(function () { window.setTimeout(refresh, 5000); });
    };
    window.setTimeout(refresh, 2000);
  }

  // Emails just queued: their status and a progress bar, until every one is done.
  var sending = document.getElementById("sending");
  if (sending) {
    var follow = function () {
      fetch(sending.getAttribute("data-progress"), { credentials: "same-origin" })
        .then(function (answer) { return answer.ok ? answer.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var done = 0;
          data.emails.forEach(function (email) {
            if (email.final) { done += 1; }
            var line = document.getElementById("sent-" + email.id);
            if (!line) { return; }
            var badge = line.querySelector(".badge");
            badge.className = "badge " + email.status;
            badge.textContent = email.status_words;
            line.querySelector(".summary").textContent = email.summary;
          });
          document.getElementById("sending-progress").value = done;
          document.getElementById("sending-count").textContent = sending
            .getAttribute("data-done-label")
            .replace("{done}", done).replace("{total}", data.emails.length);
          if (done < data.emails.length) { window.setTimeout(follow, 1500); }
        })
        .catch(function () { window.setTimeout(follow, 5000); });
    };
    window.setTimeout(follow, 1000);
  }

  var form = document.getElementById("settings-form");
  if (!form) { return; }

  // Only the chosen protocol's fields.
  function showProtocol() {
    var chosen = form.querySelector('input[name="protocol"]:checked');
    var protocol = chosen ? chosen.value : "smtp";
    form.querySelectorAll("[data-protocol]").forEach(function (section) {
      section.hidden = section.getAttribute("data-protocol") !== protocol;
    });
  }
  form.querySelectorAll('input[name="protocol"]').forEach(function (radio) {
    radio.addEventListener("change", showProtocol);
  });
  showProtocol();

  // A box that reveals its address field.
  form.querySelectorAll("[data-reveals]").forEach(function (box) {
    var target = document.getElementById(box.getAttribute("data-reveals"));
    function sync() {
      target.hidden = !box.checked;
      if (box.checked) {
        var input = target.querySelector("input");
        if (input && document.activeElement === box) { input.focus(); }
      }
    }
    box.addEventListener("change", sync);
    target.hidden = !box.checked;
  });

  // The email address field, only while the username is not an address.
  var username = document.getElementById("username");
  var addressField = form.querySelector("[data-when-username-not-address]");
  function syncAddress() {
    var value = username.value.trim();
    addressField.hidden = value === "" || value.indexOf("@") !== -1;
  }
  if (username && addressField) {
    username.addEventListener("input", syncAddress);
    syncAddress();
  }

  // Show password.
  form.querySelectorAll("[data-show-password]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-show-password"));
    var showLabel = button.textContent;
    var hideLabel = button.getAttribute("data-hide-label") || showLabel;
    button.hidden = false;
    button.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      button.setAttribute("aria-pressed", shown ? "false" : "true");
      button.textContent = shown ? showLabel : hideLabel;
    });
  });

  // The provider's settings for the address typed as the username.
  var detected = document.getElementById("detected");
  var lastAsked = "";
  function offer(data) {
    detected.textContent = "";
    if (!data.found) { detected.hidden = true; return; }
    var text = document.createElement("p");
    text.textContent = data.explanation;
    detected.appendChild(text);
    if (data.password_advice) {
      var advice = document.createElement("p");
      advice.textContent = data.password_advice;
      detected.appendChild(advice);
    }
    (data.notes || []).forEach(function (note) {
      var line = document.createElement("p");
      line.textContent = note;
      detected.appendChild(line);
    });
    if (data.sign_in) {
      var oauth = document.getElementById("oauth");
      if (oauth) { oauth.open = true; }
    }
    var use = document.createElement("button");
    use.type = "button";
    use.className = "secondary";
    use.textContent = detected.getAttribute("data-use-label") || "Use these settings";
    use.addEventListener("click", function () {
      var values = data.values || {};
      ["host", "port", "security", "email_address"].forEach(function (name) {
        var input = form.querySelector('[name="' + name + '"]');
        if (input && values[name] !== undefined && values[name] !== null) {
          input.value = String(values[name]);
        }
      });
      if (values.username) { username.value = values.username; syncAddress(); }
      var smtp = form.querySelector('input[name="protocol"][value="smtp"]');
      if (smtp) { smtp.checked = true; showProtocol(); }
      detected.hidden = true;
      document.getElementById("password").focus();
    });
    detected.appendChild(use);
    detected.hidden = false;
  }
  function detect() {
    var value = username.value.trim();
    if (value.indexOf("@") === -1 || value === lastAsked) { return; }
    lastAsked = value;
    fetch("/b/" + form.getAttribute("data-business") + "/settings/detect", {
      method: "POST",
      headers: { "content-type": "application/json", "x-csrf-token": csrfToken(form) },
      body: JSON.stringify({ address: value }),
      credentials: "same-origin",
    }).then(function (answer) { return answer.ok ? answer.json() : { found: false }; })
      .then(offer)
      .catch(function () { detected.hidden = true; });
  }
  if (username && detected) {
    username.addEventListener("change", detect);
    username.addEventListener("blur", detect);
  }

  // Send test email: the steps as they happen, read from the answer while it streams.
  var steps = document.getElementById("test-steps");
  var outcome = document.getElementById("test-outcome");
  var trust = document.getElementById("trust");
  var plainSubmit = false;
  form.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    if (plainSubmit || !submitter || !submitter.hasAttribute("data-test-email") || !window.fetch) {
      return;
    }
    event.preventDefault();
    var body = new FormData(form, submitter);
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (button) { button.disabled = true; });
    steps.textContent = "";
    outcome.textContent = "";
    form.setAttribute("aria-busy", "true");
    function done() {
      buttons.forEach(function (button) { button.disabled = false; });
      form.removeAttribute("aria-busy");
    }
    function handle(item) {
      if (item.step) {
        var line = document.createElement("li");
        line.className = item.step.ok ? "ok" : "bad";
        [["mark", item.step.ok ? "✓" : "✗"], ["label", item.step.label],
         ["ms", item.step.ms + " ms"], ["detail", item.step.detail]].forEach(function (part) {
          var span = document.createElement("span");
          span.className = part[0];
          span.textContent = part[1];
          if (part[0] === "mark") { span.setAttribute("aria-hidden", "true"); }
          line.appendChild(span);
        });
        steps.appendChild(line);
      } else if (item.html !== undefined) {
        // Rendered by barua's own templates, escaped there.
        outcome.innerHTML = item.html;
        if (item.trusted) { document.getElementById("pinned_certificate").value = item.trusted; }
        trust.innerHTML = item.trust_html || "";
        trust.hidden = !item.trust_html;
      } else if (item.errors || item.problem) {
        // Wrong values: the form itself shows them beside their fields.
        plainSubmit = true;
        form.action = submitter.formAction;
        form.requestSubmit(submitter);
      }
    }
    fetch(submitter.formAction, {
      method: "POST",
      body: new URLSearchParams(body),
      headers: { accept: "application/x-ndjson" },
      credentials: "same-origin",
    }).then(function (answer) {
      if (!answer.ok || !answer.body) { throw new Error("HTTP " + answer.status); }
      var reader = answer.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { done(); return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var lines = buffer.split("\n");
          buffer = lines.pop();
          lines.forEach(function (line) { if (line.trim()) { handle(JSON.parse(line)); } });
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      done();
      plainSubmit = true;
      form.requestSubmit(submitter);
    });
  });
})();
