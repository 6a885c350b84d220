// The standard PAC helper functions (Netscape's proxy auto-config), for FindProxyForURL.
// Name lookups cannot block inside the engine: dnsResolve answers from __mitmrelay_dns, which
// Python fills, and records the names it did not know; Python resolves those and calls again.
var __mitmrelay_dns = {};
var __mitmrelay_wanted = [];
var __mitmrelay_my_ip = "127.0.0.1";
var __mitmrelay_now = null; // [year, month0, day, weekday, hours, minutes, seconds] local time

function __mitmrelay_is_ip(s) {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(s);
}

function dnsResolve(host) {
  host = String(host).toLowerCase();
  if (__mitmrelay_is_ip(host)) return host;
  if (Object.prototype.hasOwnProperty.call(__mitmrelay_dns, host)) {
    return __mitmrelay_dns[host] || null;
  }
  if (__mitmrelay_wanted.indexOf(host) < 0) __mitmrelay_wanted.push(host);
  return null;
}

function isResolvable(host) {
  return dnsResolve(host) !== null;
}

function myIpAddress() {
  return __mitmrelay_my_ip;
}

function isPlainHostName(host) {
  return String(host).indexOf(".") < 0;
}

function dnsDomainIs(host, domain) {
  host = String(host).toLowerCase();
  domain = String(domain).toLowerCase();
  return host.length >= domain.length && host.substring(host.length - domain.length) === domain;
}

function localHostOrDomainIs(host, hostdom) {
  host = String(host).toLowerCase();
  hostdom = String(hostdom).toLowerCase();
  return host === hostdom || (isPlainHostName(host) && hostdom.split(".")[0] === host);
}

function dnsDomainLevels(host) {
  return String(host).split(".").length - 1;
}

function __mitmrelay_ip_number(ip) {
  var parts = String(ip).split(".");
  return (((+parts[0] * 256 + +parts[1]) * 256 + +parts[2]) * 256 + +parts[3]) >>> 0;
}

function convert_addr(ip) {
  return __mitmrelay_ip_number(ip);
}

function isInNet(host, pattern, mask) {
  var ip = __mitmrelay_is_ip(String(host)) ? String(host) : dnsResolve(host);
  if (ip === null) return false;
  var m = __mitmrelay_ip_number(mask);
  return ((__mitmrelay_ip_number(ip) & m) >>> 0) === ((__mitmrelay_ip_number(pattern) & m) >>> 0);
}

function shExpMatch(str, shexp) {
  var re = String(shexp)
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp("^" + re + "$").test(String(str));
}

function __mitmrelay_clock(gmt) {
  var d = new Date();
  if (__mitmrelay_now && !gmt) {
    return {
      year: __mitmrelay_now[0], month: __mitmrelay_now[1], day: __mitmrelay_now[2],
      weekday: __mitmrelay_now[3], hours: __mitmrelay_now[4], minutes: __mitmrelay_now[5],
      seconds: __mitmrelay_now[6],
    };
  }
  return gmt
    ? { year: d.getUTCFullYear(), month: d.getUTCMonth(), day: d.getUTCDate(),
        weekday: d.getUTCDay(), hours: d.getUTCHours(), minutes: d.getUTCMinutes(),
        seconds: d.getUTCSeconds() }
    : { year: d.getFullYear(), month: d.getMonth(), day: d.getDate(), weekday: d.getDay(),
        hours: d.getHours(), minutes: d.getMinutes(), seconds: d.getSeconds() };
}

function __mitmrelay_args(args) {
  var list = Array.prototype.slice.call(args);
  var gmt = list.length > 0 && String(list[list.length - 1]).toUpperCase() === "GMT";
  if (gmt) list.pop();
  return { list: list, now: __mitmrelay_clock(gmt) };
}

function __mitmrelay_in_range(value, low, high) {
  return low <= high ? value >= low && value <= high : value >= low || value <= high;
}

var __mitmrelay_days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
var __mitmrelay_months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

function weekdayRange() {
  var a = __mitmrelay_args(arguments);
  var low = __mitmrelay_days.indexOf(String(a.list[0]).toUpperCase());
  var high = a.list.length > 1 ? __mitmrelay_days.indexOf(String(a.list[1]).toUpperCase()) : low;
  if (low < 0 || high < 0) return false;
  return __mitmrelay_in_range(a.now.weekday, low, high);
}

function dateRange() {
  // Each argument is a day (1-31), a month name or a year (four digits); one value, or pairs.
  var a = __mitmrelay_args(arguments);
  function part(v) {
    var month = __mitmrelay_months.indexOf(String(v).toUpperCase());
    if (month >= 0) return ["month", month];
    v = +v;
    return v > 31 ? ["year", v] : ["day", v];
  }
  var parts = a.list.map(part);
  var now = { day: a.now.day, month: a.now.month, year: a.now.year };
  if (parts.length === 1) return now[parts[0][0]] === parts[0][1];
  var half = parts.length / 2;
  function key(ps) {
    var d = { year: 0, month: 0, day: 0 };
    ps.forEach(function (p) { d[p[0]] = p[1]; });
    return d.year * 10000 + d.month * 100 + d.day;
  }
  var low = parts.slice(0, half), high = parts.slice(half);
  var current = low.map(function (p) { return [p[0], now[p[0]]]; });
  return __mitmrelay_in_range(key(current), key(low), key(high));
}

function timeRange() {
  // (hour), (h1, h2), (h1, m1, h2, m2) or (h1, m1, s1, h2, m2, s2), optionally "GMT" last.
  var a = __mitmrelay_args(arguments);
  var v = a.list.map(Number);
  var now = a.now.hours * 3600 + a.now.minutes * 60 + a.now.seconds;
  if (v.length === 1) return a.now.hours === v[0];
  if (v.length === 2) return __mitmrelay_in_range(now, v[0] * 3600, v[1] * 3600 - 1);
  if (v.length === 4) {
    return __mitmrelay_in_range(now, v[0] * 3600 + v[1] * 60, v[2] * 3600 + v[3] * 60);
  }
  if (v.length === 6) {
    return __mitmrelay_in_range(now, v[0] * 3600 + v[1] * 60 + v[2], v[3] * 3600 + v[4] * 60 + v[5]);
  }
  return false;
}

function alert() {}
