// The Windows capture binding as the agent loads it (`require('cap')`): the Node-API addon
// (cap_win.c) with cap's JavaScript surface: Cap objects are EventEmitters, and the device
// functions hang off Cap as in cap's lib/Cap.js.
'use strict';
const { EventEmitter } = require('events');
const addon = require('./cap.node');

Object.setPrototypeOf(addon.Cap.prototype, EventEmitter.prototype);
addon.Cap.deviceList = addon.deviceList;
addon.Cap.findDevice = addon.findDevice;
module.exports = addon;
