import DuchaPropertiesProvider from "./provider.js";

export default {
  __init__: ["duchaPropertiesProvider"],
  duchaPropertiesProvider: ["type", DuchaPropertiesProvider],
};
