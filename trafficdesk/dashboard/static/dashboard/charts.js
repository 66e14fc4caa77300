/* The regional dashboard's charts and province map (ECharts, loaded before this, deferred).
   Every word drawn comes from the page's #dashboard-labels (gettext); data stay codes. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var L = JSON.parse(document.getElementById("dashboard-labels").textContent);
  var S = L.series, A = L.axes;
  var LEVELS = ["LOW", "MEDIUM", "HIGH"];
  var COLOURS = {LOW: "#2e7d32", MEDIUM: "#8a5a00", HIGH: "#c62828", UNASSESSED: "#757575"};
  var NO_DATA = "#d9d9d9";
  var BLUE = "#0b4f8a", PALE = "#9ec3e6";
  var all = [];

  function sized(id, rows, perRow) {
    var el = document.getElementById(id);
    el.style.height = Math.max(320, 96 + rows * (perRow || 30)) + "px";
    return el;
  }

  function start(el) {
    var chart = echarts.init(el);
    chart.showLoading({text: L.loading, color: BLUE});
    all.push(chart);
    return chart;
  }

  function draw(chart, option) {
    chart.hideLoading();
    chart.setOption(option);
    window.charts = (window.charts || 0) + 1;
  }

  function empty(chart) {
    chart.getDom().setAttribute("data-empty", "1");
    draw(chart, {title: {text: L.empty, left: "center", top: "middle",
      textStyle: {color: "#595959", fontSize: 16, fontWeight: "normal"}}});
  }

  function grid() { return {left: 8, right: 32, top: 48, bottom: 8, containLabel: true}; }
  function legend() { return {type: "scroll", top: 0}; }
  function names(axis) {
    return {type: "category", data: axis, inverse: true,
      axisLabel: {width: 150, overflow: "break", interval: 0}};
  }
  function valueAxis(name, extra) {
    var axis = {type: "value", name: name, nameLocation: "middle", nameGap: 28, minInterval: 1};
    for (var k in extra || {}) { axis[k] = extra[k]; }
    return axis;
  }
  function sum(list) { return list.reduce(function (a, b) { return a + (b || 0); }, 0); }

  function riskChart() {
    var cities = Object.keys(data.risk_by_city);
    var chart = start(sized("chart-risk", cities.length, 30));
    if (!cities.length) { return empty(chart); }
    var levels = LEVELS.concat(["UNASSESSED"]);
    draw(chart, {tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: legend(), grid: grid(),
      yAxis: names(cities), xAxis: valueAxis(A.counties),
      series: levels.map(function (l) {
        return {name: L.levels[l], type: "bar", stack: "r", color: COLOURS[l],
          data: cities.map(function (c) { return data.risk_by_city[c][l] || 0; })};
      })});
  }

  var points = data.points, pointNames = points.map(function (p) { return p.name; });

  function pointsChart() {
    var chart = start(sized("chart-points", points.length, 34));
    if (!points.length) { return empty(chart); }
    draw(chart, {tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: legend(), grid: grid(),
      yAxis: names(pointNames), xAxis: valueAxis(A.windows),
      series: [
        {name: S.open, type: "bar", color: BLUE, data: points.map(function (p) { return p.windows_open; })},
        {name: S.all, type: "bar", color: PALE, data: points.map(function (p) { return p.windows; })}]});
  }

  function bookingsChart() {
    /* Share of capacity booked (0-100 %): a point's few bookings stay visible beside another's
       hundreds of places; the bar's label and the tooltip give both numbers. */
    var chart = start(sized("chart-bookings", points.length, 30));
    if (!sum(points.map(function (p) { return p.capacity_today + p.booked_today; }))) { return empty(chart); }
    var used = points.map(function (p) {
      return {value: p.capacity_today ? Math.round(1000 * p.booked_today / p.capacity_today) / 10 : 0,
        booked: p.booked_today, capacity: p.capacity_today};
    });
    var top = Math.max(100, Math.ceil(Math.max.apply(null, used.map(function (u) { return u.value; })) / 10) * 10);
    draw(chart, {legend: legend(), grid: grid(),
      tooltip: {trigger: "item", formatter: function (p) {
        return p.name + "<br>" + S.booked + " " + p.data.booked + " / " + S.capacity + " " + p.data.capacity +
          " (" + p.data.value + "%)";
      }},
      yAxis: names(pointNames), xAxis: valueAxis(A.used, {max: top, minInterval: 0, axisLabel: {formatter: "{value}%"}}),
      series: [{name: S.used, type: "bar", color: BLUE, data: used, showBackground: true,
        label: {show: true, position: "right", formatter: function (p) { return p.data.booked + " / " + p.data.capacity; }}}]});
  }

  function queuesChart() {
    var chart = start(sized("chart-queues", points.length, 30));
    var waits = points.map(function (p) { return p.mean_wait_min; });
    if (!points.length || !(sum(points.map(function (p) { return p.queue; })) || sum(waits))) { return empty(chart); }
    draw(chart, {tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: legend(),
      grid: {left: 8, right: 32, top: 64, bottom: 8, containLabel: true}, yAxis: names(pointNames),
      xAxis: [valueAxis(A.people), valueAxis(A.minutes, {position: "top", nameGap: 22, minInterval: 0, splitLine: {show: false}})],
      series: [
        {name: S.queue, type: "bar", color: BLUE, data: points.map(function (p) { return p.queue; })},
        {name: S.wait, type: "line", xAxisIndex: 1, color: COLOURS.MEDIUM, connectNulls: true, data: waits}]});
  }

  function slices(obj, labels) {
    return Object.keys(obj).filter(function (k) { return obj[k] > 0; })
      .map(function (k) { return {name: (labels && labels[k]) || k, value: obj[k]}; });
  }

  function onlineChart() {
    var chart = start(document.getElementById("chart-online"));
    var online = slices(data.online_by_status, L.online), shipped = slices(data.shipments_by_status, L.shipments);
    if (!online.length && !shipped.length) { return empty(chart); }
    var pies = [[S.online, online, "25%"], [S.shipments, shipped, "75%"]];
    draw(chart, {tooltip: {trigger: "item"}, legend: {type: "scroll", bottom: 0},
      title: pies.map(function (p) {
        return {text: p[0], left: p[2], top: 0, textAlign: "center", textStyle: {fontSize: 14}};
      }).concat(pies.filter(function (p) { return !p[1].length; }).map(function (p) {
        return {text: L.empty, left: p[2], top: "middle", textAlign: "center",
          textStyle: {color: "#595959", fontSize: 14, fontWeight: "normal"}};
      })),
      series: pies.map(function (p) {
        return {name: p[0], type: "pie", radius: ["28%", "52%"], center: [p[2], "50%"], data: p[1],
          label: {formatter: "{b}\n{c}", overflow: "break", width: 90}};
      })});
  }

  function arrivalsChart() {
    var origins = Object.keys(data.arrivals_by_origin);
    var chart = start(sized("chart-arrivals", origins.length, 28));
    if (!origins.length) { return empty(chart); }
    draw(chart, {tooltip: {trigger: "axis", axisPointer: {type: "shadow"}}, legend: legend(), grid: grid(),
      yAxis: names(origins), xAxis: valueAxis(A.arrivals),
      series: [{name: S.arrivals, type: "bar", color: BLUE, label: {show: true, position: "right"},
        data: origins.map(function (o) { return data.arrivals_by_origin[o]; })}]});
  }

  /* --- the province map: counties coloured by level, a prefecture on click ------------- */

  function inScope(feature, scope, level) {
    var p = feature.properties;
    if (level === "county") { return p.adcode === scope; }
    if (level === "city") { return p.parent === scope; }
    return true;
  }

  function mapItems(features) {
    var counties = data.risk_map.counties;
    return features.map(function (f) {
      var code = f.properties.adcode, known = counties[code];
      return {name: code, county: f.properties.name, parent: f.properties.parent,
        value: known ? LEVELS.indexOf(known.level) : -1,
        level: known ? L.levels[known.level] : null, since: known ? known.since : null};
    });
  }

  function mapOption(key, features) {
    var pieces = [{value: -1, label: L.map.no_data, color: NO_DATA}].concat(LEVELS.map(function (l, i) {
      return {value: i, label: L.levels[l], color: COLOURS[l]};
    }));
    return {
      tooltip: {trigger: "item", formatter: function (p) {
        if (!p.data) { return ""; }
        if (p.data.level === null) { return p.data.county + "<br>" + L.map.no_data; }
        return p.data.county + "<br>" + p.data.level + " · " + L.map.since.replace("%(when)s", p.data.since);
      }},
      visualMap: {type: "piecewise", pieces: pieces, orient: "horizontal", left: "center", bottom: 0,
        dimension: 0, seriesIndex: 0},
      series: [{name: L.map.name, type: "map", map: key, nameProperty: "adcode", roam: false,
        selectedMode: false, top: 8, bottom: 40, data: mapItems(features),
        itemStyle: {areaColor: NO_DATA, borderColor: "#fff", borderWidth: 0.8},
        label: {show: false, formatter: function (p) { return p.data ? p.data.county : ""; }},
        emphasis: {label: {show: true, color: "#1a1a1a"}, itemStyle: {areaColor: "#ffd54f"}}}]
    };
  }

  function riskMap() {
    var el = document.getElementById("risk-map"), m = data.risk_map;
    var chart = start(el);
    var back = document.getElementById("risk-map-back"), open = document.getElementById("risk-map-open");
    if (!m.geo) { chart.hideLoading(); el.setAttribute("data-empty", "1"); return chart.setOption({title: {text: L.map.no_data, left: "center", top: "middle"}}); }
    fetch(m.geo, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (geo) {
      var features = geo.features.filter(function (f) { return inScope(f, m.scope, m.scope_level); });
      var drilled = m.scope_level !== "province";
      function show(key, shown) {
        echarts.registerMap(key, {type: "FeatureCollection", features: shown});
        chart.hideLoading();
        chart.setOption(mapOption(key, shown), true);
        el.setAttribute("data-view", key);
        el.setAttribute("data-counties", String(shown.length));
      }
      show(m.scope, features);
      chart.on("click", function (p) {
        if (!p.data) { return; }
        if (drilled) { window.location.search = "?region=" + encodeURIComponent(p.data.name); return; }
        drilled = true;
        show(p.data.parent, features.filter(function (f) { return f.properties.parent === p.data.parent; }));
        back.hidden = false;
        open.hidden = false;
        open.href = "?region=" + encodeURIComponent(p.data.parent);
      });
      back.addEventListener("click", function () {
        drilled = false;
        show(m.scope, features);
        back.hidden = true;
        open.hidden = true;
      });
      window.riskMapReady = true;
    }).catch(function () {
      chart.hideLoading();
      el.setAttribute("data-empty", "1");
      chart.setOption({title: {text: L.map.no_data, left: "center", top: "middle"}});
    });
  }

  riskChart();
  pointsChart();
  bookingsChart();
  queuesChart();
  onlineChart();
  arrivalsChart();
  riskMap();
  window.addEventListener("resize", function () { all.forEach(function (c) { c.resize(); }); });
})();
