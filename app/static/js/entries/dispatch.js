// 指挥调度一张屏: the ECharts map of Shanghai, live positions by SSE, dispatch, live video with hls.js.
import * as echarts from "echarts";
import Hls from "hls.js";
import "../../css/dispatch.css";
import { initScreen } from "../dispatch/screen.js";

window.echarts = window.echarts || echarts;
document.addEventListener("DOMContentLoaded", function () {
  const root = document.getElementById("dispatch-screen");
  if (root) initScreen(root, echarts, Hls);
});
