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
  // A click hides or shows one series; a shift-click isolates it (hides every other), or shows all again when it
  // was already the only one shown.
  function showSeries(figure, button, shown) {
    button.setAttribute("aria-pressed", shown ? "true" : "false");
    var runs = figure.querySelector(".nnlab-runs-toggle");
    var runsShown = runs && runs.getAttribute("aria-pressed") === "true";
    figure.querySelectorAll("g[data-series]").forEach(function (group) {
      if (group.getAttribute("data-series") !== button.getAttribute("data-series")) return;
      var single = group.getAttribute("data-kind") === "run";
      group.style.display = !shown || (single && !runsShown) ? "none" : "";
    });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".nnlab-legend button[data-series]");
    if (!button) return;
    var figure = button.closest("figure");
    var buttons = Array.prototype.slice.call(figure.querySelectorAll(".nnlab-legend button[data-series]"));
    if (event.shiftKey) {
      var alone = buttons.every(function (b) {
        return (b === button) === (b.getAttribute("aria-pressed") !== "false");
      });
      buttons.forEach(function (b) { showSeries(figure, b, alone || b === button); });
      return;
    }
    showSeries(figure, button, button.getAttribute("aria-pressed") === "false");
  });

  // ---- zoom: drag a rectangle over a line chart to zoom on both axes; double-click or "reset zoom" undoes it ----
  // The chart says which data range its plot spans (data-zoom: x0 x1 y0 y1, y in log10 when data-log-y) and where
  // the plot is (data-plot: left top width height); zooming maps every mark's drawn coordinates linearly into the
  // new view and redraws the ticks, so no data is re-read.
  function niceTicks(low, high, count) {
    if (!(high > low)) return [low];
    var step = Math.pow(10, Math.floor(Math.log10((high - low) / count)));
    var factors = [1, 2, 5, 10];
    for (var i = 0; i < factors.length; i++) {
      if ((high - low) / (step * factors[i]) <= count) { step *= factors[i]; break; }
    }
    var ticks = [], first = Math.ceil(low / step) * step;
    for (var i = 0; first + i * step <= high + step * 1e-9; i++) {
      var t = first + i * step;
      ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
    }
    return ticks;
  }
  // Python's "%.4g", as analysis/study/svg_chart.py labels its ticks before any zoom: 0.25, 1e-05, 1.2e+04
  function tickText(value) {
    if (value === 0) return "0";
    var exponent = Math.floor(Math.log10(Math.abs(Number(value.toPrecision(4)))));
    if (exponent < -4 || exponent >= 4) {
      var mantissa = String(Number((value / Math.pow(10, exponent)).toPrecision(4)));
      return mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
    }
    return String(Number(value.toPrecision(4)));
  }
  // a log axis's ticks (log10 positions): whole decades, else 1-2-5 steps, else plain ticks of the values,
  // as analysis/study/svg_chart.py's _log_ticks draws them before any zoom
  function logTicks(low, high, count) {
    var sets = [[1], [1, 2, 5]];
    for (var s = 0; s < sets.length; s++) {
      var ticks = [];
      for (var k = Math.floor(low); k <= Math.ceil(high); k++) {
        sets[s].forEach(function (m) {
          var t = Math.log10(m) + k;
          if (t >= low - 1e-9 && t <= high + 1e-9) ticks.push(t);
        });
      }
      if (ticks.length >= 2) {
        var every = Math.ceil(ticks.length / (count + 1));
        return ticks.filter(function (_, i) { return i % every === 0; });
      }
    }
    return niceTicks(Math.pow(10, low), Math.pow(10, high), count).filter(function (t) { return t > 0; })
      .map(function (t) { return Math.log10(t); });
  }

  function chartState(svg) {
    if (svg.nnlabZoom) return svg.nnlabZoom;
    var domain = svg.getAttribute("data-zoom").split(" ").map(Number);
    var plot = svg.getAttribute("data-plot").split(" ").map(Number);
    var marks = [];
    svg.querySelectorAll(".nnlab-plot polyline, .nnlab-plot polygon").forEach(function (node) {
      marks.push({ node: node, points: node.getAttribute("points").split(" ").map(function (pair) {
        return pair.split(",").map(Number);
      }) });
    });
    svg.querySelectorAll(".nnlab-plot circle").forEach(function (node) {
      marks.push({ node: node, circle: [Number(node.getAttribute("cx")), Number(node.getAttribute("cy"))] });
    });
    svg.nnlabZoom = { domain: domain, plot: plot, marks: marks, log: svg.getAttribute("data-log-y") === "1",
                      names: JSON.parse(svg.getAttribute("data-xnames") || "{}"),
                      view: [plot[0], plot[0] + plot[2], plot[1], plot[1] + plot[3]] };
    return svg.nnlabZoom;
  }

  function applyView(svg, state) {
    var p = state.plot, v = state.view, d = state.domain;
    function mx(x) { return p[0] + (x - v[0]) / (v[1] - v[0]) * p[2]; }
    function my(y) { return p[1] + (y - v[2]) / (v[3] - v[2]) * p[3]; }
    state.marks.forEach(function (mark) {
      if (mark.circle) {
        mark.node.setAttribute("cx", mx(mark.circle[0]).toFixed(1));
        mark.node.setAttribute("cy", my(mark.circle[1]).toFixed(1));
      } else {
        mark.node.setAttribute("points", mark.points.map(function (xy) {
          return mx(xy[0]).toFixed(1) + "," + my(xy[1]).toFixed(1);
        }).join(" "));
      }
    });
    // the view in data units: x from the left edge, y from the top edge (drawn y grows downwards)
    var xLow = d[0] + (v[0] - p[0]) / p[2] * (d[1] - d[0]), xHigh = d[0] + (v[1] - p[0]) / p[2] * (d[1] - d[0]);
    var yHigh = d[3] - (v[2] - p[1]) / p[3] * (d[3] - d[2]), yLow = d[3] - (v[3] - p[1]) / p[3] * (d[3] - d[2]);
    var xs = svg.querySelector(".nnlab-xticks"), ys = svg.querySelector(".nnlab-yticks");
    var baseline = p[1] + p[3] + 14;
    // a categorical axis keeps its names (none, when the view falls between two); a numeric one gets nice ticks
    var names = Object.keys(state.names).map(Number);
    var named = names.filter(function (x) { return x >= xLow && x <= xHigh; });
    var xTicks = names.length && names.length <= 12 ? named : niceTicks(xLow, xHigh, 5);
    xs.textContent = "";
    xTicks.forEach(function (t) {
      var label = state.names[tickText(t)] !== undefined ? state.names[tickText(t)] : tickText(t);
      xs.appendChild(element("svg:text", { x: (p[0] + (t - xLow) / (xHigh - xLow) * p[2]).toFixed(1),
                                           y: baseline, "text-anchor": "middle" }, label));
    });
    ys.textContent = "";
    (state.log ? logTicks(yLow, yHigh, 5) : niceTicks(yLow, yHigh, 5)).forEach(function (t) {
      var y = p[1] + (1 - (t - yLow) / (yHigh - yLow)) * p[3];
      ys.appendChild(element("svg:line", { x1: p[0], x2: p[0] + p[2], y1: y.toFixed(1), y2: y.toFixed(1),
                                           stroke: "#eef" }));
      ys.appendChild(element("svg:text", { x: p[0] - 5, y: (y + 4).toFixed(1), "text-anchor": "end" },
                             tickText(state.log ? Math.pow(10, t) : t)));
    });
    var zoomed = v[0] !== p[0] || v[1] !== p[0] + p[2] || v[2] !== p[1] || v[3] !== p[1] + p[3];
    var reset = svg.closest("figure").querySelector(".nnlab-zoom-reset");
    if (reset) reset.hidden = !zoomed;
    svg.setAttribute("data-zoomed", zoomed ? "1" : "0");
  }

  function toChart(svg, event) {
    var point = svg.createSVGPoint();
    point.x = event.clientX; point.y = event.clientY;
    return point.matrixTransform(svg.getScreenCTM().inverse());
  }
  document.addEventListener("pointerdown", function (event) {
    var svg = event.target.closest && event.target.closest("svg.nnlab-chart[data-zoom]");
    if (!svg || event.button !== 0) return;
    var state = chartState(svg), p = state.plot, start = toChart(svg, event);
    if (start.x < p[0] || start.x > p[0] + p[2] || start.y < p[1] || start.y > p[1] + p[3]) return;
    event.preventDefault();
    var box = element("svg:rect", { "class": "nnlab-zoom-box", x: start.x, y: start.y, width: 0, height: 0 });
    svg.appendChild(box);
    function clamp(value, low, size) { return Math.min(low + size, Math.max(low, value)); }
    function move(e) {
      var at = toChart(svg, e), x = clamp(at.x, p[0], p[2]), y = clamp(at.y, p[1], p[3]);
      box.setAttribute("x", Math.min(x, start.x)); box.setAttribute("width", Math.abs(x - start.x));
      box.setAttribute("y", Math.min(y, start.y)); box.setAttribute("height", Math.abs(y - start.y));
    }
    function stop() {
      document.removeEventListener("pointermove", move);
      document.removeEventListener("pointerup", up);
      document.removeEventListener("pointercancel", cancel);
    }
    function cancel() { stop(); box.remove(); }  // e.g. a touch that became a scroll: no zoom
    function up() {
      stop();
      var x = Number(box.getAttribute("x")), y = Number(box.getAttribute("y"));
      var w = Number(box.getAttribute("width")), h = Number(box.getAttribute("height"));
      box.remove();
      if (w < 6 || h < 6) return;  // a click, not a drag
      var v = state.view;
      function vx(px) { return v[0] + (px - p[0]) / p[2] * (v[1] - v[0]); }
      function vy(py) { return v[2] + (py - p[1]) / p[3] * (v[3] - v[2]); }
      state.view = [vx(x), vx(x + w), vy(y), vy(y + h)];
      applyView(svg, state);
    }
    document.addEventListener("pointermove", move);
    document.addEventListener("pointerup", up);
    document.addEventListener("pointercancel", cancel);
  });
  function resetZoom(svg) {
    var state = chartState(svg), p = state.plot;
    state.view = [p[0], p[0] + p[2], p[1], p[1] + p[3]];
    applyView(svg, state);
  }
  document.addEventListener("dblclick", function (event) {
    var svg = event.target.closest && event.target.closest("svg.nnlab-chart[data-zoom]");
    if (svg) resetZoom(svg);
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".nnlab-zoom-reset");
    if (button) resetZoom(button.closest("figure").querySelector("svg.nnlab-chart[data-zoom]"));
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

  // search from file://, where the browser refuses Pagefind's fetch of its index: the same text as a plain
  // script (pagefind/offline-index.js, analysis/site/search.py), loaded on the first keystroke and searched here.
  // Every word must occur in a section (its page's title counts); a section whose heading holds them all comes
  // first. Text only, never HTML.
  function offlineSearch(box, root) {
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Search";
    input.setAttribute("aria-label", "Search this site");
    var list = document.createElement("ol");
    list.className = "nnlab-offline-results";
    box.appendChild(input);
    box.appendChild(list);
    var loading = false, missing = false;

    function excerpt(text, term) {
      var at = Math.max(0, text.toLowerCase().indexOf(term) - 60);
      return (at ? "\u2026" : "") + text.slice(at, at + 180) + (at + 180 < text.length ? "\u2026" : "");
    }

    function show() {
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      list.textContent = missing ? "The search index (pagefind/offline-index.js) is missing." : "";
      if (!terms.length || !window.NNLAB_OFFLINE_SEARCH) return;
      var hits = [];
      window.NNLAB_OFFLINE_SEARCH.forEach(function (e) {
        var head = (e[2] + " " + e[3]).toLowerCase(), all = head + " " + e[4].toLowerCase();
        if (terms.every(function (t) { return all.indexOf(t) >= 0; })) {
          hits.push({ e: e, rank: terms.every(function (t) { return e[3].toLowerCase().indexOf(t) >= 0; }) ? 0 : 1 });
        }
      });
      hits.sort(function (a, b) { return a.rank - b.rank; });
      hits.slice(0, 20).forEach(function (h) {
        var e = h.e, item = document.createElement("li"), link = document.createElement("a"), p;
        link.className = "nnlab-offline-result";
        link.href = root + encodeURI(e[0]) + (e[1] ? "#" + encodeURIComponent(e[1]) : "");
        link.textContent = e[3] || e[2];
        item.appendChild(link);
        p = document.createElement("p");
        p.textContent = (e[3] && e[2] && e[3] !== e[2] ? e[2] + ": " : "") + excerpt(e[4], terms[0]);
        item.appendChild(p);
        list.appendChild(item);
      });
      if (hits.length > 20 || !hits.length) {
        var note = document.createElement("li");
        note.textContent = hits.length ? (hits.length - 20) + " more sections match: add a word to narrow them."
          : "No section holds every word of \u201c" + input.value + "\u201d.";
        list.appendChild(note);
      }
    }

    input.addEventListener("input", function () {
      if (window.NNLAB_OFFLINE_SEARCH || loading) { show(); return; }
      loading = true;
      var script = document.createElement("script");
      script.src = root + "pagefind/offline-index.js";
      script.onload = show;
      script.onerror = function () { missing = true; show(); };
      document.head.appendChild(script);
    });
  }

  function start() {
    // search: Pagefind's index and UI, written into the site by the site step (analysis/site/search.py)
    var ui = document.querySelector('script[src$="pagefind/pagefind-ui.js"]');
    var box = document.getElementById("nnlab-search");
    if (box && ui && location.protocol === "file:") {
      offlineSearch(box, new URL("..", ui.src).href);
    } else if (box && window.PagefindUI && ui) {
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
