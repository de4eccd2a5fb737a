// node send.js TOKEN TEXT: posts a text message with the dingtalk-robot package, unchanged.
"use strict";
const robot = require("dingtalk-robot")(process.argv[2]);
robot.send({ msgtype: "text", text: { content: process.argv[3] } }, function (error, result) {
  if (error) {
    console.error(error.message);
    process.exit(1);
  }
  console.log(JSON.stringify(result));
});
