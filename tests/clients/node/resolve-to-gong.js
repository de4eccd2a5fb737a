// Loaded with `node --require`: connections to oapi.dingtalk.com:443 go to Gong's HTTPS port on
// 127.0.0.1 (as a hosts-file line would send them), still verified as oapi.dingtalk.com.
"use strict";
const tls = require("tls");
const port = Number(process.env.GONG_TEST_TLS_PORT);
const connect = tls.connect;
tls.connect = function (...args) {
  const options = args[0];
  if (options && typeof options === "object" && options.host === "oapi.dingtalk.com") {
    args[0] = Object.assign({}, options, { host: "127.0.0.1", port: port, servername: "oapi.dingtalk.com" });
  }
  return connect.apply(this, args);
};
