/* stockwarn pages: small progressive enhancements. Everything works without JavaScript except
   the chart; nothing here is inline, so the Content-Security-Policy allows no inline script. */
(function () {
  "use strict";

  // A button with data-confirm asks first (cancel, reject, activate a version …).
  document.addEventListener("submit", function (event) {
    var button = event.submitter || event.target.querySelector("[data-confirm]");
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // "Select all" ticks every checkbox of its form named by data-select-all (the inbox's rows).
  document.addEventListener("change", function (event) {
    var name = event.target.getAttribute && event.target.getAttribute("data-select-all");
    if (!name || !event.target.form) { return; }
    var boxes = event.target.form.elements;  // with the rows' boxes tied by form="…"
    for (var i = 0; i < boxes.length; i++) {
      if (boxes[i].type === "checkbox" && boxes[i].name === name) { boxes[i].checked = event.target.checked; }
    }
  });

  // Filter forms without htmx submit themselves when a choice changes.
  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (form && form.hasAttribute("data-autosubmit") && !form.hasAttribute("hx-get")) {
      form.submit();
    }
  });

  function dayTicks(start, end) {
    var day = 86400000, out = [];
    var step = (end - start) > 45 * day ? 14 * day : 7 * day;
    for (var t = end; t >= start; t -= step) { out.unshift({ value: t }); }
    return out;
  }

  function formatter(lang, tz, withTime) {
    var options = { month: "numeric", day: "numeric", timeZone: tz };
    if (withTime) { options.hour = "2-digit"; options.minute = "2-digit"; options.hour12 = false; }
    try { return new Intl.DateTimeFormat(lang === "zh" ? "zh-CN" : "en-GB", options); }
    catch (e) { delete options.timeZone; return new Intl.DateTimeFormat(undefined, options); }
  }

  function drawChart(canvas, data) {
    var dateOnly = formatter(data.language, data.timezone, false);
    var dateTime = formatter(data.language, data.timezone, true);
    var datasets = [
      { type: "line", label: data.labels.on_hand, data: data.stock, stepped: "before",
        parsing: { xAxisKey: "x", yAxisKey: "on_hand" }, yAxisID: "y", order: 1,
        borderColor: "#1d4ed8", backgroundColor: "rgba(29,78,216,0.08)", fill: true,
        borderWidth: 2, pointRadius: 0, pointHitRadius: 6 },
      { type: "bar", label: data.labels.demand, data: data.demand, yAxisID: "y2", order: 3,
        backgroundColor: "rgba(245,158,11,0.55)", borderWidth: 0, barPercentage: 0.9,
        categoryPercentage: 1.0 }
    ];
    // Available differs from on hand only when something is reserved: draw it only then.
    if (data.stock.some(function (p) { return p.available !== p.on_hand; })) {
      datasets.splice(1, 0, { type: "line", label: data.labels.available, data: data.stock,
        stepped: "before", parsing: { xAxisKey: "x", yAxisKey: "available" }, yAxisID: "y",
        order: 2, borderColor: "#0f766e", borderDash: [5, 4], borderWidth: 1.5,
        pointRadius: 0, pointHitRadius: 6 });
    }
    // The demand bars use the lower part of the chart, under the stock line.
    var maxDemand = Math.max.apply(null, data.demand.map(function (d) { return d.y; }).concat([1]));
    if (typeof data.reorder_point === "number") {
      datasets.push({ type: "line", label: data.labels.reorder_point, yAxisID: "y", order: 0,
        data: [{ x: data.start, y: data.reorder_point }, { x: data.end, y: data.reorder_point }],
        borderColor: "#dc2626", borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0 });
    }
    if (data.alert && typeof data.alert.y === "number") {
      datasets.push({ type: "scatter", label: data.labels.alert, data: [data.alert], yAxisID: "y",
        order: -1, pointStyle: "triangle", pointRadius: 7, pointHoverRadius: 8,
        backgroundColor: "#dc2626", borderColor: "#fff", borderWidth: 1 });
    }
    return new window.Chart(canvas, {
      data: { datasets: datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 14 } },
          tooltip: { callbacks: { title: function (items) {
            return items.length ? dateTime.format(new Date(items[0].parsed.x)) : ""; } } }
        },
        scales: {
          x: { type: "linear", min: data.start, max: data.end,
               afterBuildTicks: function (scale) { scale.ticks = dayTicks(data.start, data.end); },
               ticks: { callback: function (value) { return dateOnly.format(new Date(value)); } },
               grid: { color: "rgba(0,0,0,0.05)" } },
          y: { beginAtZero: true, title: { display: true, text: data.labels.stock_axis },
               grid: { color: "rgba(0,0,0,0.06)" } },
          y2: { beginAtZero: true, position: "right", suggestedMax: maxDemand * 2.5, title: { display: true, text: data.labels.demand_axis },
                grid: { drawOnChartArea: false } }
        }
      }
    });
  }

  function loadChart() {
    var canvas = document.getElementById("stock-chart");
    if (!canvas || !window.Chart || !window.fetch) { return; }
    var status = document.getElementById("chart-status");
    fetch(canvas.getAttribute("data-src"), { credentials: "same-origin",
                                             headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        drawChart(canvas, data);
        canvas.setAttribute("data-ready", "1");
        if (status) { status.textContent = data.title; }
      })
      .catch(function () {
        if (status) { status.textContent = status.getAttribute("data-error") || "—"; }
        canvas.setAttribute("data-ready", "error");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", loadChart);
  } else {
    loadChart();
  }
})();
