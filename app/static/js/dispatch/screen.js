// The one screen (一张屏). Data from the page's data- attributes; every text shown is Chinese.
const GRADE_COLOURS = { A: "#dc3545", B: "#fd7e14", C: "#ffc107", D: "#20c997", "": "#adb5bd" };

function csrf() {
  const m = document.querySelector('meta[name="csrf-token"]');
  return m ? m.content : "";
}

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `请求失败（HTTP ${r.status}）`);
  return body;
}

async function postJSON(url, data) {
  const r = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: JSON.stringify(data || {}),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.message || `请求失败（HTTP ${r.status}）`);
  return body;
}

function esc(s) {
  return String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

export function initScreen(root, echarts, Hls) {
  const ds = root.dataset;
  const canCommand = ds.canCommand === "1";
  const el = document.getElementById("dispatch-map");
  const chart = echarts.init(el);
  const devices = new Map();
  let data = { enterprises: [], events: [], layers: [], records: [] };
  let selected = null; // the event being dispatched
  let picking = false;
  let hls = null;
  let currentDevice = null;
  let currentCall = null;
  const lastDispatch = new Map(); // device id -> the dispatch record sent to it from this screen
  window.ducha_dispatch = { chart, devices, moves: 0 }; // read by the browser test

  function deviceColour(d) {
    if (!d.online) return "#6c757d";
    if (d.busy) return "#fd7e14";
    return d.kind === "vehicle" ? "#0d6efd" : "#198754";
  }

  function devicePoints(kind) {
    return [...devices.values()].filter((d) => d.kind === kind && d.lon != null).map((d) => ({
      name: d.name, value: [d.lon, d.lat], id: d.id, ref: d, itemStyle: { color: deviceColour(d) },
    }));
  }

  function series() {
    const out = [
      { name: "执法记录仪", type: "scatter", coordinateSystem: "geo", symbol: "circle", symbolSize: 9, data: devicePoints("camera"), z: 5 },
      { name: "执法车辆", type: "scatter", coordinateSystem: "geo", symbol: "rect", symbolSize: 11, data: devicePoints("vehicle"), z: 5 },
      { name: "企业", type: "scatter", coordinateSystem: "geo", symbol: "diamond", symbolSize: 7, z: 3,
        data: data.enterprises.map((e) => ({ name: e.name, value: [e.lon, e.lat], ent: e, itemStyle: { color: GRADE_COLOURS[e.grade] || "#adb5bd" } })) },
      { name: "待调度事件", type: "effectScatter", coordinateSystem: "geo", symbolSize: 12, z: 6, itemStyle: { color: "#ff3b30" },
        data: data.events.map((e) => ({ name: e.title, value: [e.lon, e.lat], evt: e })) },
    ];
    for (const layer of data.layers) {
      out.push({ name: layer.name, type: "scatter", coordinateSystem: "geo", symbol: "triangle", symbolSize: 9, z: 4,
        itemStyle: { color: "#6f42c1" }, data: layer.features.map((f) => ({ name: f.name, value: [f.lon, f.lat] })) });
    }
    return out;
  }

  function render() {
    chart.setOption({ series: series() }, { replaceMerge: ["series"] });
  }

  function tooltip(p) {
    const d = p.data || {};
    if (d.ref) {
      const r = d.ref;
      return `${esc(r.name)}（${esc(r.code)}）<br>${esc(r.org)} ${esc(r.person || "未绑定人员")}<br>` +
        `${r.online ? "在线" : "离线"}，${r.busy ? "执行任务中" : "空闲"}${r.status ? "<br>" + esc(r.status) : ""}`;
    }
    if (d.ent) return `${esc(d.ent.name)}<br>${esc(d.ent.grade_label)}<br>${esc(d.ent.address)}`;
    if (d.evt) return `${esc(d.evt.title)}<br>${esc(d.evt.detail)}`;
    return esc(p.name);
  }

  async function start() {
    const geo = await getJSON(ds.districtsUrl);
    echarts.registerMap("shanghai", geo);
    chart.setOption({
      backgroundColor: "#0b1d33",
      tooltip: { trigger: "item", formatter: tooltip },
      legend: { top: 8, left: 8, textStyle: { color: "#fff" }, type: "scroll", orient: "vertical" },
      geo: {
        map: "shanghai", roam: true, center: [121.47, 31.23], zoom: 4, scaleLimit: { min: 1, max: 60 },
        label: { show: true, color: "#8fb3d9", fontSize: 11 },
        itemStyle: { areaColor: "#12314f", borderColor: "#3a7bd5" },
        emphasis: { itemStyle: { areaColor: "#1b4a75" }, label: { color: "#fff" } },
      },
      series: [],
    });
    await reload();
    live();
    window.addEventListener("resize", () => chart.resize());
  }

  async function reload() {
    data = await getJSON(ds.mapUrl);
    devices.clear();
    for (const d of data.devices) devices.set(d.id, d);
    render();
    renderEvents();
    renderRecords(data.records);
  }

  function live() {
    const status = document.getElementById("live-status");
    const source = new EventSource(ds.streamUrl);
    source.addEventListener("positions", (ev) => {
      let moved = 0;
      for (const p of JSON.parse(ev.data)) {
        const d = devices.get(p.id);
        if (!d) continue;
        if (d.lon !== p.lon || d.lat !== p.lat) moved += 1;
        Object.assign(d, { lon: p.lon, lat: p.lat, online: p.online, busy: p.busy });
      }
      window.ducha_dispatch.moves += moved;
      status.textContent = `实时位置：已更新 ${new Date().toLocaleTimeString("zh-CN")}`;
      render();
    });
    source.onerror = () => { status.textContent = "实时位置：连接中断，正在重连…"; };
  }

  function renderEvents() {
    const list = document.getElementById("event-list");
    if (!data.events.length) { list.innerHTML = '<li class="list-group-item text-muted">暂无待调度事件</li>'; return; }
    list.innerHTML = data.events.map((e, i) =>
      `<li class="list-group-item"><a href="#" data-evt="${i}">${esc(e.title)}</a><div class="text-muted">${esc(e.detail)}</div></li>`).join("");
    list.querySelectorAll("[data-evt]").forEach((a) => a.addEventListener("click", (ev) => {
      ev.preventDefault();
      pickEvent(data.events[Number(a.dataset.evt)]);
    }));
  }

  function renderRecords(records) {
    const list = document.getElementById("record-list");
    list.innerHTML = records.length ? records.map((r) =>
      `<li class="list-group-item" data-record="${r.id}"><span class="badge text-bg-${r.status === "closed" ? "success" : r.status === "failed" ? "danger" : "primary"}">${esc(r.status_label)}</span> ` +
      `${esc(r.title)}<div class="text-muted">${esc(r.device)} ${esc(r.person)} ${esc(r.org)}${r.distance_m != null ? "，" + r.distance_m + " 米" : ""}</div>` +
      (r.gateway_status ? `<div class="${r.gateway_status === "已推送至设备" ? "text-success" : "text-danger"}">${esc(r.gateway_status)}</div>` : "") + "</li>").join("")
      : '<li class="list-group-item text-muted">暂无调度记录</li>';
  }

  async function pickEvent(evt) {
    selected = evt;
    chart.setOption({ geo: { center: [evt.lon, evt.lat], zoom: 12 } });
    const panel = document.getElementById("dispatch-panel");
    panel.classList.remove("d-none");
    document.getElementById("dispatch-event-title").textContent = evt.title;
    const box = document.getElementById("dispatch-units");
    const msg = document.getElementById("dispatch-message");
    msg.textContent = "";
    if (!canCommand) { box.textContent = "您没有调度权限"; return; }
    box.textContent = "正在查找最近的空闲单元…";
    try {
      const res = await getJSON(`${ds.suggestUrl}?lon=${evt.lon}&lat=${evt.lat}`);
      if (!res.units.length) { box.textContent = "附近没有在线空闲的调度单元"; return; }
      box.innerHTML = res.units.map((u, i) =>
        `<div class="d-flex align-items-center gap-1 mb-1"><span>${i === 0 ? "<strong>建议：</strong>" : ""}${esc(u.device)}（${esc(u.kind)}）${esc(u.person)} ${esc(u.org)}，${u.distance_m} 米</span>` +
        `<button class="btn btn-sm btn-primary ms-auto text-nowrap" data-unit="${u.device_id}">派发</button></div>`).join("");
      box.querySelectorAll("[data-unit]").forEach((b) => b.addEventListener("click", () => send(Number(b.dataset.unit), b)));
    } catch (e) { msg.textContent = e.message; }
  }

  async function send(deviceId, button) {
    const msg = document.getElementById("dispatch-message");
    button.disabled = true;
    try {
      const res = await postJSON(ds.dispatchUrl, {
        event_kind: selected.kind, event_ref: selected.ref, title: selected.title, lon: selected.lon, lat: selected.lat, device_id: deviceId,
      });
      msg.className = res.record.gateway_status === "已推送至设备" ? "text-success" : "text-danger";
      msg.textContent = `已派发：${res.record.device} ${res.record.person}（${res.record.gateway_status}）`;
      const d = devices.get(deviceId);
      if (d) d.busy = true;
      lastDispatch.set(deviceId, res.record.id);
      render();
      renderRecords((await getJSON(ds.recordsUrl)).records);
    } catch (e) {
      msg.className = "text-danger";
      msg.textContent = e.message;
      button.disabled = false;
    }
  }

  function showDevice(d) {
    currentDevice = d;
    document.getElementById("video-panel").classList.remove("d-none");
    document.getElementById("video-title").textContent = `${d.name} ${d.person || ""}`;
    document.getElementById("video-message").textContent = d.online ? "" : "设备离线";
  }

  function play(url) {
    const video = document.getElementById("live-video");
    if (hls) { hls.destroy(); hls = null; }
    if (Hls.isSupported()) {
      hls = new Hls({ liveSyncDurationCount: 2 });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(Hls.Events.ERROR, (_e, info) => {
        if (info.fatal) document.getElementById("video-message").textContent = "视频流中断，请重试";
      });
    } else {
      video.src = url;
    }
    video.play().catch(() => {});
  }

  async function videoAct(kind) {
    const msg = document.getElementById("video-message");
    msg.className = "mt-1";
    msg.textContent = "正在连接…";
    try {
      if (kind === "live") {
        const res = await postJSON(`${ds.deviceUrl}${currentDevice.id}/live`);
        play(res.url);
        msg.textContent = "实时画面";
      } else if (kind === "call") {
        const res = await postJSON(`${ds.deviceUrl}${currentDevice.id}/call`);
        currentCall = { device: currentDevice.id, id: res.call_id };
        play(res.url);
        msg.textContent = "远程对话中（录音录像）";
        document.getElementById("btn-hangup").classList.remove("d-none");
      } else if (kind === "hangup" && currentCall) {
        const link = lastDispatch.has(currentCall.device) ? `?dispatch=${lastDispatch.get(currentCall.device)}` : "";
        const res = await postJSON(`${ds.deviceUrl}${currentCall.device}/call/${encodeURIComponent(currentCall.id)}/stop${link}`);
        currentCall = null;
        document.getElementById("btn-hangup").classList.add("d-none");
        msg.textContent = res.recordings.length ? `对话已结束，录像已保存（${res.recordings.length} 段）` : "对话已结束";
      }
    } catch (e) {
      msg.className = "mt-1 text-danger";
      msg.textContent = e.message;
    }
  }

  window.ducha_dispatch.showDevice = showDevice;
  for (const [id, kind] of [["btn-live", "live"], ["btn-call", "call"], ["btn-hangup", "hangup"]]) {
    const b = document.getElementById(id);
    if (b) b.addEventListener("click", () => videoAct(kind));
  }

  const manual = document.getElementById("manual-event");
  chart.on("click", (p) => {
    const d = p.data || {};
    if (d.ref) showDevice(d.ref);
    else if (d.evt) pickEvent(d.evt);
  });
  chart.getZr().on("click", (ev) => {
    if (!picking) return;
    const coord = chart.convertFromPixel({ geoIndex: 0 }, [ev.offsetX, ev.offsetY]);
    picking = false;
    if (manual) manual.textContent = "在地图上点选位置，新建现场事件";
    if (!coord) return;
    const title = window.prompt("现场事件名称", "现场事件");
    if (title) pickEvent({ kind: "manual", ref: null, title, detail: "", lon: coord[0], lat: coord[1] });
  });
  if (manual) manual.addEventListener("click", (ev) => { ev.preventDefault(); picking = true; manual.textContent = "请在地图上点选事件位置"; });

  document.getElementById("locate-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = document.getElementById("locate-q").value.trim();
    const out = document.getElementById("locate-results");
    if (!q) return;
    try {
      const res = await getJSON(`${ds.locateUrl}?q=${encodeURIComponent(q)}`);
      if (!res.results.length) { out.textContent = "未找到"; return; }
      const first = res.results[0];
      chart.setOption({ geo: { center: [first.lon, first.lat], zoom: 14 } });
      out.textContent = `${first.type}：${first.name}${res.results.length > 1 ? `（共 ${res.results.length} 个结果）` : ""}`;
    } catch (e) { out.textContent = e.message; }
  });

  start().catch((e) => { document.getElementById("live-status").textContent = `地图加载失败：${e.message}`; });
}
