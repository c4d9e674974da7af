/*
 * The agent's capture binding for Windows: the patched `cap` addon's interface
 * (patches/cap-0.2.1.patch, agent/capture/cap-binding.ts) over Npcap's wpcap.dll, written on
 * Node-API. Why not cap's own source: cap is built on NAN, i.e. on V8's C++ API, which an addon
 * compiled here with mingw-w64 (GCC's C++ ABI) cannot link against node.exe (built with MSVC,
 * another C++ ABI and name mangling). Node-API is a C ABI that node.exe exports, so this file
 * builds with Debian's mingw-w64 and loads in the official node.exe (installer/README.md).
 *
 * What it offers is what the agent uses of the patched binding, with the same semantics:
 *   new Cap(); cap.open(device, filter, bufSize, buffer, snaplen, promisc, batch=true)
 *     -> link type name; 'packets' (bytesUsed, count) events with records
 *     [tv_sec, tv_usec, caplen, len] (uint32, host order) + frame bytes, 4-byte aligned;
 *     'error' (Error) when the handle fails; cap.flush(); cap.stats(); cap.close();
 *     cap.setMinBytes(n) (Npcap's pcap_setmintocopy)
 *   deviceList(), findDevice(ip?), meerkatPatch, libpcapVersion(),
 *   trimStartupPages([keep]) -> { mappings, bytes, keptMappings, keptBytes } (revision 5; the
 *   keep argument { keepExecutable, keepPaths } of revision 6, with the Linux addon's rule)
 * Per-packet delivery ('packet' events, batch=false) is not offered: the agent never asks
 * for it, and open() says so.
 *
 * Npcap signals new packets through an event handle (pcap_getevent). A thread pool wait on it
 * queues one call into the JavaScript thread (a thread-safe function with a queue of one, so
 * signals arriving while a drain is pending coalesce, as cap's uv_async did); the drain runs
 * pcap_dispatch there, non-blocking.
 *
 * Under Wine, whose wpcap.dll forwards to the host's libpcap but has no pcap_getevent (calling
 * it aborts the process), a 10 ms timer takes the event's place: the tests run this binding
 * under Wine on real packets that way (test/installer/windows-package.test.ts).
 */
#define NAPI_VERSION 8
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
/* QueryWorkingSetEx and GetMappedFileNameW as kernel32's K32 functions: no psapi.dll import */
#define PSAPI_VERSION 2
#include <psapi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>
#include <pcap/pcap.h>
#include <node_api.h>

#define MEERKAT_PATCH_REVISION "meerkat-cap-patch-6"
#define RECORD_HEADER 16

typedef struct {
  napi_env env;
  napi_ref self;          /* weak; made strong while the handle is open */
  napi_ref buffer_ref;    /* the batch buffer, kept alive while open */
  pcap_t *handle;
  HANDLE wait;            /* wait on Npcap's event, or the polling timer (see open) */
  int polling;
  napi_threadsafe_function tsfn;
  char *buf;
  size_t buflen;
  size_t used;
  uint32_t count;
  size_t record_max;
  int opened;             /* open() was called once: a Cap opens once */
  int closing;
  int draining;
} Cap;

#define CHECK(env, call)                                                      \
  do {                                                                        \
    if ((call) != napi_ok) {                                                  \
      const napi_extended_error_info *info_;                                  \
      napi_get_last_error_info((env), &info_);                                \
      napi_throw_error((env), NULL, info_ && info_->error_message             \
                                        ? info_->error_message                \
                                        : "Node-API call failed");           \
      return NULL;                                                            \
    }                                                                         \
  } while (0)

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

static napi_value throw_type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, NULL, msg);
  return NULL;
}

static napi_value str(napi_env env, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value num(napi_env env, double d) {
  napi_value v;
  napi_create_double(env, d, &v);
  return v;
}

/* this.emit(name, ...args) */
static void emit(Cap *c, napi_env env, napi_value *args, size_t argc) {
  napi_value self, fn;
  if (c->self == NULL || napi_get_reference_value(env, c->self, &self) != napi_ok || self == NULL) return;
  if (napi_get_named_property(env, self, "emit", &fn) != napi_ok) return;
  napi_valuetype t;
  napi_typeof(env, fn, &t);
  if (t != napi_function) return;
  napi_call_function(env, self, fn, argc, args, NULL);
}

static void flush_batch(Cap *c, napi_env env) {
  if (c->count == 0) return;
  napi_value args[3] = { str(env, "packets"), num(env, (double)c->used), num(env, (double)c->count) };
  c->used = 0;
  c->count = 0;
  emit(c, env, args, 3);
}

static void emit_error(Cap *c, napi_env env, const char *message) {
  napi_value msg, err;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, NULL, msg, &err);
  napi_value args[2] = { str(env, "error"), err };
  emit(c, env, args, 2);
}

static void store_record(u_char *user, const struct pcap_pkthdr *h, const u_char *data) {
  Cap *c = (Cap *)user;
  size_t room = c->buflen - c->used;
  if (room < RECORD_HEADER) return; /* cannot happen: the drain asks only for what fits */
  size_t copy = h->caplen;
  if (copy > room - RECORD_HEADER) copy = room - RECORD_HEADER;
  uint32_t hdr[4] = { (uint32_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec, (uint32_t)copy, (uint32_t)h->len };
  memcpy(c->buf + c->used, hdr, RECORD_HEADER);
  memcpy(c->buf + c->used + RECORD_HEADER, data, copy);
  size_t next = c->used + ((RECORD_HEADER + copy + 3) & ~(size_t)3);
  c->used = next < c->buflen ? next : c->buflen;
  c->count++;
}

static void release_handle(Cap *c, napi_env env);

/* Reads what the driver holds, as batches of records: one 'packets' per full buffer or drain. */
static void drain(Cap *c, napi_env env) {
  int n = 0;
  if (c->handle == NULL || c->closing || c->draining) return;
  c->draining = 1;
  for (;;) {
    if (c->closing) break;
    size_t fit = (c->buflen - c->used) / c->record_max;
    if (fit == 0) {
      flush_batch(c, env);
      continue;
    }
    n = pcap_dispatch(c->handle, fit > 4096 ? 4096 : (int)fit, store_record, (u_char *)c);
    if (n <= 0) break;
  }
  if (!c->closing) flush_batch(c, env);
  c->draining = 0;
  if (n == -1 && !c->closing && c->handle) emit_error(c, env, pcap_geterr(c->handle));
  if (c->closing) release_handle(c, env); /* close() was called from a handler meanwhile */
}

/* thread pool: the driver's event fired; one drain is queued (more coalesce into it) */
static void CALLBACK on_event(PVOID ctx, BOOLEAN timed_out) {
  Cap *c = (Cap *)ctx;
  (void)timed_out;
  if (c->tsfn) napi_call_threadsafe_function(c->tsfn, NULL, napi_tsfn_nonblocking);
}

/* Wine's wpcap.dll has no pcap_getevent: a timer stands in for the driver's event there */
static int running_on_wine(void) {
  HMODULE ntdll = GetModuleHandleA("ntdll.dll");
  return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

static void CALLBACK on_timer(PVOID ctx, BOOLEAN fired) {
  on_event(ctx, fired);
}

static void call_drain(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  (void)data;
  if (env != NULL) drain((Cap *)context, env);
}

static void release_handle(Cap *c, napi_env env) {
  if (c->wait) {
    /* waits for a running callback to finish: none can touch the handle afterwards */
    if (c->polling) DeleteTimerQueueTimer(NULL, c->wait, INVALID_HANDLE_VALUE);
    else UnregisterWaitEx(c->wait, INVALID_HANDLE_VALUE);
    c->wait = NULL;
  }
  if (c->tsfn) {
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    c->tsfn = NULL;
  }
  if (c->handle) {
    pcap_close(c->handle);
    c->handle = NULL;
  }
  if (c->buffer_ref) {
    napi_delete_reference(env, c->buffer_ref);
    c->buffer_ref = NULL;
  }
  if (c->self) {
    uint32_t refs = 0;
    napi_reference_unref(env, c->self, &refs);
  }
  c->buf = NULL;
  c->buflen = 0;
  c->used = 0;
  c->count = 0;
}

static void cap_finalize(napi_env env, void *data, void *hint) {
  Cap *c = (Cap *)data;
  (void)hint;
  /* only a closed object can be collected (open holds a strong reference) */
  if (c->self) napi_delete_reference(env, c->self);
  free(c);
}

static napi_value cap_new(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Cap *c = (Cap *)calloc(1, sizeof(Cap));
  if (!c) return throw_error(env, "out of memory");
  c->env = env;
  CHECK(env, napi_wrap(env, self, c, cap_finalize, NULL, &c->self));
  return self;
}

static Cap *unwrap(napi_env env, napi_value self) {
  void *p = NULL;
  if (napi_unwrap(env, self, &p) != napi_ok) return NULL;
  return (Cap *)p;
}

static int get_string(napi_env env, napi_value v, char *out, size_t size) {
  size_t len = 0;
  return napi_get_value_string_utf8(env, v, out, size, &len) == napi_ok && len < size - 1;
}

static const char *link_name(int dlt, char *buf, size_t size) {
  switch (dlt) {
    case DLT_NULL: return "NULL";
    case DLT_EN10MB: return "ETHERNET";
    case DLT_IEEE802_11_RADIO: return "IEEE802_11_RADIO";
    case DLT_LINUX_SLL: return "LINKTYPE_LINUX_SLL";
    case DLT_RAW: return "RAW";
#ifdef DLT_LINUX_SLL2
    case DLT_LINUX_SLL2: return "LINKTYPE_LINUX_SLL2";
#endif
    default: snprintf(buf, size, "Unknown linktype %d", dlt); return buf;
  }
}

static napi_value abandon(Cap *c, napi_env env, const char *msg) {
  char copy[PCAP_ERRBUF_SIZE + 64];
  snprintf(copy, sizeof copy, "%s", msg);
  if (c->handle) {
    pcap_close(c->handle);
    c->handle = NULL;
  }
  if (c->buffer_ref) {
    napi_delete_reference(env, c->buffer_ref);
    c->buffer_ref = NULL;
  }
  c->buf = NULL;
  c->buflen = 0;
  return throw_error(env, copy);
}

static napi_value cap_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  Cap *c = unwrap(env, self);
  if (!c) return throw_error(env, "not a Cap");
  if (c->opened) return throw_error(env, "this Cap was already opened: create a new one");
  if (argc < 4) return throw_type_error(env, "Expecting 4 arguments");
  char device[1024], filter[8192];
  if (!get_string(env, argv[0], device, sizeof device)) return throw_type_error(env, "device must be a string");
  if (!get_string(env, argv[1], filter, sizeof filter)) return throw_type_error(env, "filter must be a string");
  uint32_t bufsize;
  if (napi_get_value_uint32(env, argv[2], &bufsize) != napi_ok) return throw_type_error(env, "bufSize must be a positive integer");
  bool is_buffer = false;
  napi_is_buffer(env, argv[3], &is_buffer);
  if (!is_buffer) return throw_type_error(env, "buffer must be a Buffer");
  uint32_t snaplen = 65535;
  bool promisc = true, batch = false;
  napi_valuetype t;
  if (argc > 4 && napi_typeof(env, argv[4], &t) == napi_ok && t != napi_undefined) {
    if (napi_get_value_uint32(env, argv[4], &snaplen) != napi_ok) return throw_type_error(env, "snaplen must be a positive integer");
    if (snaplen < 64 || snaplen > 262144) {
      napi_throw_range_error(env, NULL, "snaplen must be between 64 and 262144");
      return NULL;
    }
  }
  if (argc > 5 && napi_typeof(env, argv[5], &t) == napi_ok && t != napi_undefined) {
    napi_value b;
    napi_coerce_to_bool(env, argv[5], &b);
    napi_get_value_bool(env, b, &promisc);
  }
  if (argc > 6 && napi_typeof(env, argv[6], &t) == napi_ok && t != napi_undefined) {
    napi_value b;
    napi_coerce_to_bool(env, argv[6], &b);
    napi_get_value_bool(env, b, &batch);
  }
  if (!batch) return throw_error(env, "this build of the binding delivers batches only: open(..., batch = true)");
  void *data = NULL;
  size_t length = 0;
  CHECK(env, napi_get_buffer_info(env, argv[3], &data, &length));
  if (length < (size_t)snaplen + RECORD_HEADER + 4) {
    napi_throw_range_error(env, NULL, "buffer must hold at least one record of snaplen bytes");
    return NULL;
  }
  c->opened = 1;
  c->closing = 0;
  c->buf = (char *)data;
  c->buflen = length;
  c->used = 0;
  c->count = 0;
  c->record_max = ((size_t)snaplen + RECORD_HEADER + 3) & ~(size_t)3;
  CHECK(env, napi_create_reference(env, argv[3], 1, &c->buffer_ref));

  char errbuf[PCAP_ERRBUF_SIZE] = "";
  bpf_u_int32 net = 0, mask = 0;
  if (pcap_lookupnet(device, &net, &mask, errbuf) == -1) {
    net = 0;
    mask = 0;
  }
  c->handle = pcap_create(device, errbuf);
  if (!c->handle) return abandon(c, env, errbuf);
  if (pcap_set_snaplen(c->handle, (int)snaplen) != 0) return abandon(c, env, "Unable to set snaplen");
  if (pcap_set_promisc(c->handle, promisc ? 1 : 0) != 0) return abandon(c, env, "Unable to set promiscuous mode");
  if (pcap_set_buffer_size(c->handle, (int)bufsize) != 0) return abandon(c, env, "Unable to set buffer size");
  if (pcap_set_timeout(c->handle, 1000) != 0) return abandon(c, env, "Unable to set read timeout");
  /* no pcap_set_immediate_mode, as in cap's Windows path: the agent asks for immediate
     delivery with setMinBytes(0) (Npcap's pcap_setmintocopy) once the handle is open */
  if (pcap_activate(c->handle) != 0) return abandon(c, env, pcap_geterr(c->handle));
  if (pcap_setnonblock(c->handle, 1, errbuf) == -1) return abandon(c, env, errbuf);
  if (filter[0]) {
    struct bpf_program fp;
    if (pcap_compile(c->handle, &fp, filter, 1, net) == -1) return abandon(c, env, pcap_geterr(c->handle));
    if (pcap_setfilter(c->handle, &fp) == -1) {
      char reason[PCAP_ERRBUF_SIZE + 64];
      snprintf(reason, sizeof reason, "%s", pcap_geterr(c->handle));
      pcap_freecode(&fp);
      return abandon(c, env, reason);
    }
    pcap_freecode(&fp);
  }
  char lbuf[64];
  napi_value ret = str(env, link_name(pcap_datalink(c->handle), lbuf, sizeof lbuf));

  napi_value name = str(env, "cap:packets");
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 1, 1, NULL, NULL, c, call_drain, &c->tsfn) != napi_ok) {
    c->tsfn = NULL;
    return abandon(c, env, "cannot create the packet notification");
  }
  c->polling = running_on_wine();
  BOOL waiting = c->polling
    ? CreateTimerQueueTimer(&c->wait, NULL, on_timer, c, 10, 10, WT_EXECUTEINTIMERTHREAD)
    : RegisterWaitForSingleObject(&c->wait, pcap_getevent(c->handle), on_event, c, INFINITE, WT_EXECUTEINWAITTHREAD);
  if (!waiting) {
    char msg[256];
    snprintf(msg, sizeof msg, "cannot wait for packets (error %lu)", (unsigned long)GetLastError());
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort);
    c->tsfn = NULL;
    c->wait = NULL;
    return abandon(c, env, msg);
  }
  /* capturing keeps the object (and the event loop, through the thread-safe function) alive */
  uint32_t refs = 0;
  napi_reference_ref(env, c->self, &refs);
  return ret;
}

static napi_value cap_close(napi_env env, napi_callback_info info) {
  napi_value self, result;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Cap *c = unwrap(env, self);
  if (!c) return throw_error(env, "not a Cap");
  bool was_open = c->handle != NULL && !c->closing;
  if (was_open) {
    c->closing = 1;
    if (!c->draining) release_handle(c, env); /* else: the drain releases it when it returns */
  }
  napi_get_boolean(env, was_open, &result);
  return result;
}

static napi_value cap_flush(napi_env env, napi_callback_info info) {
  napi_value self;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Cap *c = unwrap(env, self);
  if (c && c->handle && !c->closing) drain(c, env);
  return NULL;
}

static napi_value cap_stats(napi_env env, napi_callback_info info) {
  napi_value self, out;
  CHECK(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  Cap *c = unwrap(env, self);
  if (!c || !c->handle || c->closing) return throw_error(env, "Not currently capturing/open");
  struct pcap_stat ps;
  memset(&ps, 0, sizeof ps);
  if (pcap_stats(c->handle, &ps) != 0) return throw_error(env, pcap_geterr(c->handle));
  CHECK(env, napi_create_object(env, &out));
  napi_set_named_property(env, out, "received", num(env, (double)ps.ps_recv));
  napi_set_named_property(env, out, "dropped", num(env, (double)ps.ps_drop));
  napi_set_named_property(env, out, "ifDropped", num(env, (double)ps.ps_ifdrop));
  return out;
}

static napi_value cap_set_min_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  Cap *c = unwrap(env, self);
  uint32_t n;
  if (argc < 1 || napi_get_value_uint32(env, argv[0], &n) != napi_ok) return throw_type_error(env, "min bytes must be a positive number");
  if (!c || !c->handle) return throw_error(env, "Not currently capturing/open");
  if (c->polling) return NULL; /* Wine: libpcap underneath has no kernel buffer minimum to set */
  if (pcap_setmintocopy(c->handle, (int)n) != 0) return throw_error(env, "Unable to set min bytes");
  return NULL;
}

static void set_addr(napi_env env, napi_value obj, const char *key, struct sockaddr *sa) {
  char text[INET6_ADDRSTRLEN] = "";
  if (!sa) return;
  if (sa->sa_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, text, sizeof text);
  } else if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof text);
  } else {
    return;
  }
  napi_set_named_property(env, obj, key, str(env, text));
}

static napi_value device_list(napi_env env, napi_callback_info info) {
  (void)info;
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_if_t *all = NULL;
  if (pcap_findalldevs(&all, errbuf) == -1) return throw_error(env, errbuf);
  napi_value list;
  napi_create_array(env, &list);
  uint32_t i = 0;
  for (pcap_if_t *d = all; d; d = d->next) {
    napi_value dev, addrs;
    napi_create_object(env, &dev);
    napi_set_named_property(env, dev, "name", str(env, d->name));
    if (d->description) napi_set_named_property(env, dev, "description", str(env, d->description));
    napi_create_array(env, &addrs);
    uint32_t j = 0;
    for (pcap_addr_t *a = d->addresses; a; a = a->next) {
      if (!a->addr || (a->addr->sa_family != AF_INET && a->addr->sa_family != AF_INET6)) continue;
      napi_value o;
      napi_create_object(env, &o);
      set_addr(env, o, "addr", a->addr);
      set_addr(env, o, "netmask", a->netmask);
      set_addr(env, o, "broadaddr", a->broadaddr);
      set_addr(env, o, "dstaddr", a->dstaddr);
      napi_set_element(env, addrs, j++, o);
    }
    napi_set_named_property(env, dev, "addresses", addrs);
    if (d->flags & PCAP_IF_LOOPBACK) napi_set_named_property(env, dev, "flags", str(env, "PCAP_IF_LOOPBACK"));
    napi_set_element(env, list, i++, dev);
  }
  if (all) pcap_freealldevs(all);
  return list;
}

/* the first device with an IPv4/IPv6 address (equal to ip, when given), else undefined */
static napi_value find_device(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ret = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ip[INET6_ADDRSTRLEN + 1] = "";
  int want = 0;
  if (argc > 0) {
    if (!get_string(env, argv[0], ip, sizeof ip)) return throw_type_error(env, "Expected string for IP");
    want = 1;
  }
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_if_t *all = NULL;
  if (pcap_findalldevs(&all, errbuf) == -1) return throw_error(env, errbuf);
  for (pcap_if_t *d = all; d && !ret; d = d->next) {
    for (pcap_addr_t *a = d->addresses; a; a = a->next) {
      if (!a->addr || (a->addr->sa_family != AF_INET && a->addr->sa_family != AF_INET6)) continue;
      if (want) {
        char text[INET6_ADDRSTRLEN] = "";
        if (a->addr->sa_family == AF_INET) inet_ntop(AF_INET, &((struct sockaddr_in *)a->addr)->sin_addr, text, sizeof text);
        else inet_ntop(AF_INET6, &((struct sockaddr_in6 *)a->addr)->sin6_addr, text, sizeof text);
        if (strcmp(text, ip) != 0) continue;
      }
      ret = str(env, d->name);
      break;
    }
  }
  if (all) pcap_freealldevs(all);
  if (!ret) napi_get_undefined(env, &ret);
  return ret;
}

static napi_value lib_version(napi_env env, napi_callback_info info) {
  (void)info;
  return str(env, pcap_lib_version());
}

/*
 * Revision 5/6: the working-set trim the Linux addon does for start-up-only file pages, with
 * the same rule and the same keep option. Each committed region of an image (DLL, EXE, addon)
 * or a mapped file that is not writable is taken out of the working set with VirtualUnlock:
 * on a range that is not locked, that call "releases the pages from the process's working
 * set" (it then fails with ERROR_NOT_LOCKED, which is the expected result). The pages go to
 * the standby list and come back with a soft fault when touched, as a Linux page cache page
 * does. Private memory (the heap, the capture buffer) and written copy-on-write pages
 * (PAGE_READWRITE after the copy) are never touched.
 * { keepExecutable, keepPaths } (revision 6) leaves code, and the regions of files whose path
 * contains one of keepPaths (case-insensitive, as Windows paths are), in the working set: the
 * capture path must not fault its code back in during a burst (agent/service-trim.ts).
 * Returns { mappings, bytes, keptMappings, keptBytes }: regions released and their resident
 * bytes before, regions eligible but kept and their resident bytes.
 */
#define TRIM_MAX_KEEP 16

/* towlower, not CharLowerW: that one would add user32.dll to the addon's imports */
static void trim_lower(wchar_t *s) {
  for (; *s; s++) *s = (wchar_t)towlower(*s);
}
#define TRIM_PAGE_BATCH 1024

static int trim_writable(DWORD protect) {
  DWORD p = protect & 0xff;
  return p == PAGE_READWRITE || p == PAGE_EXECUTE_READWRITE;
}

static int trim_executable(DWORD protect) {
  DWORD p = protect & 0xff;
  return p == PAGE_EXECUTE || p == PAGE_EXECUTE_READ || p == PAGE_EXECUTE_READWRITE || p == PAGE_EXECUTE_WRITECOPY;
}

/* resident bytes of [base, base + size): QueryWorkingSetEx page by page, in batches */
static double trim_resident(HANDLE self, char *base, SIZE_T size, SIZE_T page, PSAPI_WORKING_SET_EX_INFORMATION *batch) {
  double bytes = 0;
  SIZE_T pages = size / page;
  for (SIZE_T done = 0; done < pages;) {
    SIZE_T n = pages - done < TRIM_PAGE_BATCH ? pages - done : TRIM_PAGE_BATCH;
    for (SIZE_T i = 0; i < n; i++) batch[i].VirtualAddress = base + (done + i) * page;
    if (!QueryWorkingSetEx(self, batch, (DWORD)(n * sizeof *batch))) return (double)size; /* unknown: count it all */
    for (SIZE_T i = 0; i < n; i++)
      if (batch[i].VirtualAttributes.Valid) bytes += (double)page;
    done += n;
  }
  return bytes;
}

static napi_value trim_startup_pages(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int keep_executable = 0;
  wchar_t keep[TRIM_MAX_KEEP][MAX_PATH];
  int nkeep = 0;
  napi_valuetype t = napi_undefined;
  if (argc > 0) CHECK(env, napi_typeof(env, argv[0], &t));
  if (t == napi_object) {
    napi_value v;
    bool b = false;
    CHECK(env, napi_get_named_property(env, argv[0], "keepExecutable", &v));
    if (napi_get_value_bool(env, v, &b) == napi_ok) keep_executable = b;
    CHECK(env, napi_get_named_property(env, argv[0], "keepPaths", &v));
    bool isArray = false;
    CHECK(env, napi_is_array(env, v, &isArray));
    if (isArray) {
      uint32_t len = 0;
      CHECK(env, napi_get_array_length(env, v, &len));
      for (uint32_t i = 0; i < len; i++) {
        napi_value e;
        char utf8[MAX_PATH];
        size_t got = 0;
        CHECK(env, napi_get_element(env, v, i, &e));
        if (napi_get_value_string_utf8(env, e, utf8, sizeof utf8, &got) != napi_ok)
          return throw_type_error(env, "trimStartupPages: keepPaths must be strings");
        if (got == 0) continue;
        if (nkeep == TRIM_MAX_KEEP) return throw_type_error(env, "trimStartupPages: at most 16 keepPaths");
        if (!MultiByteToWideChar(CP_UTF8, 0, utf8, -1, keep[nkeep], MAX_PATH))
          return throw_type_error(env, "trimStartupPages: a keepPaths entry is not valid UTF-8 or too long");
        trim_lower(keep[nkeep]);
        nkeep++;
      }
    }
  }
  HANDLE self = GetCurrentProcess();
  SYSTEM_INFO si;
  GetSystemInfo(&si);
  SIZE_T page = si.dwPageSize;
  PSAPI_WORKING_SET_EX_INFORMATION *batch = malloc(TRIM_PAGE_BATCH * sizeof *batch);
  if (!batch) return throw_error(env, "trimStartupPages: out of memory");
  double mappings = 0, bytes = 0, keptMappings = 0, keptBytes = 0;
  char *at = (char *)si.lpMinimumApplicationAddress;
  MEMORY_BASIC_INFORMATION m;
  wchar_t path[MAX_PATH];
  while (at < (char *)si.lpMaximumApplicationAddress && VirtualQuery(at, &m, sizeof m) == sizeof m) {
    char *base = (char *)m.BaseAddress;
    at = base + m.RegionSize;
    if (m.State != MEM_COMMIT || (m.Type != MEM_IMAGE && m.Type != MEM_MAPPED)) continue;
    if ((m.Protect & (PAGE_GUARD | PAGE_NOACCESS)) || m.Protect == 0 || trim_writable(m.Protect)) continue;
    double resident = trim_resident(self, base, m.RegionSize, page, batch);
    if (resident == 0) continue;
    int kept = keep_executable && trim_executable(m.Protect);
    if (!kept && nkeep > 0 && GetMappedFileNameW(self, base, path, MAX_PATH) > 0) {
      trim_lower(path);
      for (int k = 0; !kept && k < nkeep; k++) kept = wcsstr(path, keep[k]) != NULL;
    }
    if (kept) {
      keptMappings++;
      keptBytes += resident;
      continue;
    }
    /* the documented effect on an unlocked range; the call reports ERROR_NOT_LOCKED */
    if (VirtualUnlock(base, m.RegionSize) || GetLastError() == ERROR_NOT_LOCKED) {
      mappings++;
      bytes += resident;
    }
  }
  free(batch);
  napi_value ret;
  CHECK(env, napi_create_object(env, &ret));
  napi_set_named_property(env, ret, "mappings", num(env, mappings));
  napi_set_named_property(env, ret, "bytes", num(env, bytes));
  napi_set_named_property(env, ret, "keptMappings", num(env, keptMappings));
  napi_set_named_property(env, ret, "keptBytes", num(env, keptBytes));
  return ret;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor methods[] = {
    { "open", NULL, cap_open, NULL, NULL, NULL, napi_default, NULL },
    { "close", NULL, cap_close, NULL, NULL, NULL, napi_default, NULL },
    { "flush", NULL, cap_flush, NULL, NULL, NULL, napi_default, NULL },
    { "stats", NULL, cap_stats, NULL, NULL, NULL, napi_default, NULL },
    { "setMinBytes", NULL, cap_set_min_bytes, NULL, NULL, NULL, napi_default, NULL },
  };
  napi_value cls;
  CHECK(env, napi_define_class(env, "Cap", NAPI_AUTO_LENGTH, cap_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
  napi_property_descriptor exported[] = {
    { "Cap", NULL, NULL, NULL, NULL, cls, napi_enumerable, NULL },
    { "deviceList", NULL, device_list, NULL, NULL, NULL, napi_enumerable, NULL },
    { "findDevice", NULL, find_device, NULL, NULL, NULL, napi_enumerable, NULL },
    { "libpcapVersion", NULL, lib_version, NULL, NULL, NULL, napi_enumerable, NULL },
    { "trimStartupPages", NULL, trim_startup_pages, NULL, NULL, NULL, napi_enumerable, NULL },
    { "meerkatPatch", NULL, NULL, NULL, NULL, str(env, MEERKAT_PATCH_REVISION), napi_enumerable, NULL },
  };
  CHECK(env, napi_define_properties(env, exports, sizeof exported / sizeof exported[0], exported));
  return exports;
}
