// The scancode server. Add it to the mini-program's trusted domains in the WeChat console: the https
// address under "request", the same host as wss:// under "socket".
module.exports = {
  serverUrl: 'https://scancode.example.com',
};
