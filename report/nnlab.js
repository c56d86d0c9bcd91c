// nnlab's one site script, shared by the Quarto and pandoc renderings and the run pages: the narrow-screen menu,
// legend entries that hide or show a chart's series, and the explorer. No library, no network: it reads only what
// the page itself holds (window.NNLAB_EXPLORER comes from generated/explorer/data.js).
(function () {
  "use strict";

  // ---- the menu button: on a narrow screen the sidebar folds away behind it ----
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".nnlab-menu-button");
    if (!button) return;
    var open = document.body.classList.toggle("nnlab-nav-open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // ---- legends: a click hides or shows the series of the same name in the same figure (its single runs too) ----
  function hiddenIn(figure, name) {
    return Array.prototype.some.call(figure.querySelectorAll(".nnlab-legend button[data-series]"), function (b) {
      return b.getAttribute("data-series") === name && b.getAttribute("aria-pressed") === "false";
    });
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nnlab-runs-toggle");
    if (!toggle) return;
    var show = toggle.getAttribute("aria-pressed") !== "true";
    toggle.setAttribute("aria-pressed", show ? "true" : "false");
    var figure = toggle.closest("figure");
    figure.querySelectorAll('g[data-kind="run"]').forEach(function (group) {
      group.style.display = show && !hiddenIn(figure, group.getAttribute("data-series")) ? "" : "none";
    });
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".nnlab-legend button[data-series]");
    if (!button) return;
    var shown = button.getAttribute("aria-pressed") !== "false";
    button.setAttribute("aria-pressed", shown ? "false" : "true");
    var figure = button.closest("figure");
    var runs = figure.querySelector(".nnlab-runs-toggle");
    var runsShown = runs && runs.getAttribute("aria-pressed") === "true";
    figure.querySelectorAll("g[data-series]").forEach(function (group) {
      if (group.getAttribute("data-series") !== button.getAttribute("data-series")) return;
      var single = group.getAttribute("data-kind") === "run";
      group.style.display = shown || (single && !runsShown) ? "none" : "";
    });
  });

  // ---- the explorer ----
  var SVG = "http://www.w3.org/2000/svg";

  function element(tag, attributes, text) {
    var node = tag.indexOf("svg:") === 0 ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function select(label, options, value, onChange) {
    var wrap = element("label", { "class": "nnlab-control" }, label + " ");
    var box = element("select", { "aria-label": label });
    options.forEach(function (option) {
      var item = element("option", { value: option[0] }, option[1]);
      if (option[0] === value) item.selected = true;
      box.appendChild(item);
    });
    box.addEventListener("change", function () { onChange(box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  function summary(values, data) {
    var n = values.length, mean = values.reduce(function (a, b) { return a + b; }, 0) / n;
    if (n < 2) return { n: n, mean: mean, low: null, high: null };
    var variance = values.reduce(function (a, b) { return a + (b - mean) * (b - mean); }, 0) / (n - 1);
    var t = n - 1 <= data.t975.length ? data.t975[n - 2] : data.z975;
    var half = t * Math.sqrt(variance / n);
    return { n: n, mean: mean, low: mean - half, high: mean + half };
  }

  function format(value) {
    if (value === null || value === undefined) return "—";
    return Math.abs(value) >= 1000 ? value.toFixed(0) : value.toPrecision(4);
  }

  function explorer(root, data) {
    var state = { experiment: null, filters: {}, colour: "", metric: "final_test_acc" };
    var byName = Object.create(null);
    data.experiments.forEach(function (e) { byName[e.name] = e; });
    // the experiment to open: explorer.html?experiment=<name> (a query, not an anchor: no element carries the name)
    var wanted = new URLSearchParams(location.search).get("experiment");
    state.experiment = byName[wanted] ? wanted : data.experiments[0].name;

    function matching(exp) {
      return exp.runs.filter(function (run) {
        return Object.keys(state.filters).every(function (key) {
          return !state.filters[key] || run.cell[key] === state.filters[key];
        });
      });
    }

    function draw() {
      var exp = byName[state.experiment];
      root.textContent = "";
      var controls = element("div", { "class": "nnlab-controls" });
      controls.appendChild(select("experiment", data.experiments.map(function (e) { return [e.name, e.name]; }),
        state.experiment, function (value) {
          state.experiment = value; state.filters = {}; state.colour = "";
          try { history.replaceState(null, "", "?experiment=" + encodeURIComponent(value)); } catch (e) { /* file:// */ }
          draw();
        }));
      exp.grid_keys.forEach(function (key) {
        var values = [];
        exp.runs.forEach(function (run) { if (values.indexOf(run.cell[key]) < 0) values.push(run.cell[key]); });
        controls.appendChild(select(key, [["", "all"]].concat(values.map(function (v) { return [v, v]; })),
          state.filters[key] || "", function (value) { state.filters[key] = value; draw(); }));
      });
      controls.appendChild(select("colour by", [["", "nothing"]].concat(exp.grid_keys.map(function (k) {
        return [k, k];
      })).concat([["seed", "seed"]]), state.colour, function (value) { state.colour = value; draw(); }));
      controls.appendChild(select("metric", Object.keys(data.metrics).map(function (m) {
        return [m, data.metrics[m]];
      }), state.metric, function (value) { state.metric = value; draw(); }));
      root.appendChild(controls);

      var runs = matching(exp);
      var groups = Object.create(null), order = [];
      runs.forEach(function (run) {
        var key = state.colour === "seed" ? String(run.seed) : state.colour ? run.cell[state.colour] : "all runs";
        if (!groups[key]) { groups[key] = []; order.push(key); }
        groups[key].push(run);
      });
      root.appendChild(element("p", { "class": "nnlab-count" }, runs.length + " run" + (runs.length === 1 ? "" : "s") +
        " of " + exp.runs.length + " in " + exp.name + " match."));
      var stats = Object.create(null);
      order.forEach(function (name) { stats[name] = groupStats(exp, groups[name]); });
      root.appendChild(chart(groups, order, stats));
      root.appendChild(table(groups, order, stats));
    }

    // a group's mean, and its 95 % t-interval only when the group is one grid cell (its runs differ by seed
    // alone): an interval over a mix of cells would not be an interval over seeds
    function groupStats(exp, runs) {
      var values = runs.map(function (r) { return r.metrics[state.metric]; })
        .filter(function (v) { return v !== null && v !== undefined; });
      var oneCell = runs.every(function (r) {
        return exp.grid_keys.every(function (k) { return r.cell[k] === runs[0].cell[k]; });
      });
      var stat = values.length ? summary(values, data) : { n: 0, mean: null, low: null, high: null };
      stat.pooled = !oneCell;
      if (!oneCell) { stat.low = null; stat.high = null; }
      return stat;
    }

    function chart(groups, order, stats) {
      var width = 640, height = 300, left = 64, bottom = 48, top = 12;
      var values = [];
      order.forEach(function (g) { groups[g].forEach(function (r) {
        var v = r.metrics[state.metric]; if (v !== null && v !== undefined) values.push(v);
      }); });
      var svg = element("svg:svg", { viewBox: "0 0 " + width + " " + height, "class": "nnlab-chart nnlab-explorer-chart",
        role: "img", "aria-label": data.metrics[state.metric] + " per run" });
      if (!values.length) {
        svg.appendChild(element("svg:text", { x: width / 2, y: height / 2, "text-anchor": "middle" },
          "no run with this metric"));
        return svg;
      }
      order.forEach(function (name) {  // the intervals stay inside the chart
        if (stats[name].low !== null) values.push(stats[name].low, stats[name].high);
      });
      var low = Math.min.apply(null, values), high = Math.max.apply(null, values);
      if (high === low) { low -= 0.5; high += 0.5; }
      var y = function (v) { return top + (1 - (v - low) / (high - low)) * (height - top - bottom); };
      var step = (width - left - 10) / order.length;
      [low, (low + high) / 2, high].forEach(function (tick) {
        svg.appendChild(element("svg:text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end" }, format(tick)));
        svg.appendChild(element("svg:line", { x1: left, x2: width - 10, y1: y(tick), y2: y(tick), stroke: "#eef" }));
      });
      order.forEach(function (name, i) {
        var centre = left + step * (i + 0.5);
        svg.appendChild(element("svg:text", { x: centre, y: height - bottom + 16, "text-anchor": "middle" },
          name.length > 18 ? name.slice(0, 17) + "…" : name));
        var band = Math.min(step * 0.5, 120), count = groups[name].length;
        var stat = stats[name];
        if (stat.low !== null) {
          svg.appendChild(element("svg:line", { x1: centre + band / 2 + 8, x2: centre + band / 2 + 8,
            y1: y(stat.low), y2: y(stat.high),
            stroke: "#333", "stroke-width": 2, "class": "nnlab-ci" }));
          svg.appendChild(element("svg:line", { x1: centre + band / 2 + 3, x2: centre + band / 2 + 13,
            y1: y(stat.mean), y2: y(stat.mean), stroke: "#333", "stroke-width": 2 }));
        }
        groups[name].forEach(function (run, j) {
          var v = run.metrics[state.metric];
          if (v === null || v === undefined) return;
          var x = count > 1 ? centre - band / 2 + band * j / (count - 1) : centre;
          var link = element("svg:a", { href: "runs/" + run.run_id + ".html", "class": "nnlab-run-point",
            "data-run": run.run_id });
          var dot = element("svg:circle", { cx: x, cy: y(v), r: 4,
            fill: ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"][i % 6] });
          dot.appendChild(element("svg:title", {}, run.run_id + " (seed " + run.seed + "): " +
            data.metrics[state.metric] + " " + format(v)));
          link.appendChild(dot);
          svg.appendChild(link);
        });
      });
      return svg;
    }

    function table(groups, order, stats) {
      var box = element("div", { "class": "nnlab-table-box" });
      var t = element("table", { "class": "nnlab-explorer-table" });
      var head = element("tr");
      ["group", "runs with the metric", "mean", "95 % CI over seeds (t)", "run pages"].forEach(function (h) { head.appendChild(element("th", {}, h)); });
      t.appendChild(head);
      order.forEach(function (name) {
        var stat = stats[name];
        var row = element("tr");
        row.appendChild(element("td", {}, name));
        row.appendChild(element("td", {}, stat.n + " of " + groups[name].length));
        row.appendChild(element("td", {}, format(stat.mean)));
        row.appendChild(element("td", {}, stat.pooled ? "— (pools grid cells: filter or colour to one cell)" :
          stat.low === null ? "— (n < 2)" : "[" + format(stat.low) + ", " + format(stat.high) + "]"));
        var links = element("td");
        groups[name].forEach(function (run) {
          var a = element("a", { href: "runs/" + run.run_id + ".html" }, run.run_id);
          a.title = "seed " + run.seed + ", " + run.status;
          links.appendChild(a);
          links.appendChild(document.createTextNode(" "));
        });
        row.appendChild(links);
        t.appendChild(row);
      });
      box.appendChild(t);
      return box;
    }

    draw();
  }

  function start() {
    // search: Pagefind's index and UI, written into the site by the site step (analysis/site/search.py)
    var ui = document.querySelector('script[src$="pagefind/pagefind-ui.js"]');
    if (document.getElementById("nnlab-search") && window.PagefindUI && ui) {
      // results link relative to the site's root (the folder above pagefind/), so a site under a sub-path works
      new window.PagefindUI({ element: "#nnlab-search", showSubResults: true, showImages: false, resetStyles: false,
        baseUrl: new URL("..", ui.src).pathname });
    }
    var root = document.getElementById("nnlab-explorer");
    if (root && window.NNLAB_EXPLORER && window.NNLAB_EXPLORER.experiments.length) {
      explorer(root, window.NNLAB_EXPLORER);
    } else if (root) {
      root.textContent = "This profile has no runs to explore.";
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
