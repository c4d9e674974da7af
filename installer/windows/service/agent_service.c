/*
 * meerkat-agent-service.exe: the Windows service that runs the Meerkat agent, and the
 * installer's tool to register it. Windows services must talk to the Service Control Manager
 * (SCM); node.exe does not, so this small wrapper does, and runs
 *
 *   node.exe <profile flags> meerkat-agent.js run --config %ProgramData%\Meerkat\agent.json
 *
 * from its own folder, with the agent's stderr (JSON log lines) appended to
 * %ProgramData%\Meerkat\logs\agent.log (rotated at 10 MB). Why our own and not a wrapper from
 * the npm registry (installer/README.md): node-windows ships WinSW, a .NET program with an XML
 * configuration and its own log handling; this is ~350 lines of C built here with mingw-w64,
 * with nothing to configure and no runtime of its own.
 *
 * Stop: the agent is started in its own process group on a hidden console, and stopping sends
 * it CTRL_BREAK (node's SIGBREAK), on which it spools its open dump and exits; after 30 s it is
 * terminated (the registry value StopTimeoutSeconds, a DWORD of 1 to 300 under the service's
 * Parameters key, changes that limit: a host whose agent spools slowly, or a test under Wine,
 * which never delivers CTRL_BREAK). Restart on failure is the SCM's own job: `install` sets the service's failure
 * actions (restart after 5 s, 10 s, 30 s; counter reset after a day) and the flag that applies
 * them when the service stops with an error, which this wrapper reports when the agent exits
 * on its own.
 *
 * Usage: meerkat-agent-service.exe install|uninstall|start|stop|status|run
 * (no argument: started by the SCM).
 */
#define WIN32_LEAN_AND_MEAN
#ifndef UNICODE
#define UNICODE
#endif
#ifndef _UNICODE
#define _UNICODE
#endif
#include <windows.h>
#include <initguid.h>
#include <knownfolders.h>
#include <shlobj.h>
#include <stdio.h>
#include <wchar.h>

#define SERVICE_NAME L"MeerkatAgent"
#define DISPLAY_NAME L"Meerkat Agent"
#define DESCRIPTION L"Captures this host's network traffic, anonymizes it and ships it to the Meerkat collector."
#define STOP_WAIT_DEFAULT_S 30
#define STOP_WAIT_MAX_S 300
#define PARAMETERS_KEY L"SYSTEM\\CurrentControlSet\\Services\\MeerkatAgent\\Parameters"
#define LOG_ROTATE_BYTES (10LL * 1024 * 1024)

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static HANDLE stop_event;

/* The stop limit in seconds: StopTimeoutSeconds under the service's Parameters key when it is 1..300, else 30. */
static DWORD stop_wait_s(void) {
  DWORD v = 0, size = sizeof v;
  if (RegGetValueW(HKEY_LOCAL_MACHINE, PARAMETERS_KEY, L"StopTimeoutSeconds", RRF_RT_REG_DWORD, NULL, &v, &size) == ERROR_SUCCESS &&
      v >= 1 && v <= STOP_WAIT_MAX_S) return v;
  return STOP_WAIT_DEFAULT_S;
}

static void dir_of_self(wchar_t *out, DWORD size) {
  GetModuleFileNameW(NULL, out, size);
  wchar_t *slash = wcsrchr(out, L'\\');
  if (slash) *slash = 0;
}

/*
 * The ProgramData folder as the system knows it (FOLDERID_ProgramData, what the installer
 * uses), not the environment's: a service's environment need not have it (Wine's gives
 * C:\users\Public). The agent is handed the same value, for its default state folder.
 */
static void program_data(wchar_t *out, DWORD size) {
  PWSTR known = NULL;
  if (SUCCEEDED(SHGetKnownFolderPath(&FOLDERID_ProgramData, 0, NULL, &known))) {
    _snwprintf(out, size, L"%ls", known);
    CoTaskMemFree(known);
  } else {
    wcscpy(out, L"C:\\ProgramData");
  }
  out[size - 1] = 0;
}

/* %ProgramData%\Meerkat */
static void data_dir(wchar_t *out, DWORD size) {
  wchar_t base[MAX_PATH];
  program_data(base, MAX_PATH);
  _snwprintf(out, size, L"%ls\\Meerkat", base);
  out[size - 1] = 0;
}

/* the agent's command line; the profile as the Linux launcher has it for `run` (docs/agent-memory.md) */
static void agent_command(wchar_t *cmd, size_t size, const wchar_t *sub) {
  wchar_t here[MAX_PATH], data[MAX_PATH], profile[16] = L"";
  dir_of_self(here, MAX_PATH);
  data_dir(data, MAX_PATH);
  GetEnvironmentVariableW(L"MEERKAT_AGENT_PROFILE", profile, 16);
  const wchar_t *flags = wcscmp(profile, L"lean") == 0 ? L"--v8-pool-size=1 --lite-mode --no-expose-wasm" : L"--v8-pool-size=1 --no-short-builtin-calls --no-sparkplug";
  _snwprintf(cmd, size, L"\"%ls\\node.exe\" %ls \"%ls\\meerkat-agent.js\" %ls --config \"%ls\\agent.json\"", here, flags, here, sub, data);
  cmd[size - 1] = 0;
}

static HANDLE open_log(void) {
  wchar_t data[MAX_PATH], logs[MAX_PATH], file[MAX_PATH], old[MAX_PATH];
  data_dir(data, MAX_PATH);
  _snwprintf(logs, MAX_PATH, L"%ls\\logs", data);
  CreateDirectoryW(data, NULL);
  CreateDirectoryW(logs, NULL);
  _snwprintf(file, MAX_PATH, L"%ls\\agent.log", logs);
  _snwprintf(old, MAX_PATH, L"%ls\\agent.log.1", logs);
  WIN32_FILE_ATTRIBUTE_DATA a;
  if (GetFileAttributesExW(file, GetFileExInfoStandard, &a) &&
      (((LONGLONG)a.nFileSizeHigh << 32) | a.nFileSizeLow) > LOG_ROTATE_BYTES) {
    MoveFileExW(file, old, MOVEFILE_REPLACE_EXISTING);
  }
  SECURITY_ATTRIBUTES sa = { sizeof sa, NULL, TRUE };
  HANDLE h = CreateFileW(file, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa, OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
  return h;
}

static void log_line(HANDLE log, const char *msg) {
  if (log == INVALID_HANDLE_VALUE) return;
  char line[512];
  SYSTEMTIME t;
  GetSystemTime(&t);
  int n = snprintf(line, sizeof line, "{\"level\":%d,\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\",\"component\":\"service\",\"msg\":\"%s\"}\r\n",
                   30, t.wYear, t.wMonth, t.wDay, t.wHour, t.wMinute, t.wSecond, t.wMilliseconds, msg);
  DWORD w;
  if (n > 0) WriteFile(log, line, (DWORD)n, &w, NULL);
}

static void report(DWORD state, DWORD exit_code, DWORD specific, DWORD wait_hint) {
  static DWORD checkpoint = 1;
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  status.dwWin32ExitCode = exit_code;
  status.dwServiceSpecificExitCode = specific;
  status.dwWaitHint = wait_hint;
  status.dwCheckPoint = (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkpoint++;
  if (status_handle) SetServiceStatus(status_handle, &status);
}

static DWORD WINAPI control_handler(DWORD control, DWORD type, LPVOID data, LPVOID ctx) {
  (void)type; (void)data; (void)ctx;
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    report(SERVICE_STOP_PENDING, NO_ERROR, 0, stop_wait_s() * 1000 + 5000);
    SetEvent(stop_event);
    return NO_ERROR;
  }
  return control == SERVICE_CONTROL_INTERROGATE ? NO_ERROR : ERROR_CALL_NOT_IMPLEMENTED;
}

/* Runs the agent until it exits or stop_event is set; returns its exit code (0 = stopped by us). */
static DWORD run_agent(HANDLE log, int as_service) {
  wchar_t cmd[4 * MAX_PATH], here[MAX_PATH];
  agent_command(cmd, sizeof cmd / sizeof cmd[0], L"run");
  dir_of_self(here, MAX_PATH);
  wchar_t pd[MAX_PATH];
  program_data(pd, MAX_PATH);
  SetEnvironmentVariableW(L"ProgramData", pd);
  /* a console of our own (hidden) to deliver CTRL_BREAK to the agent's process group */
  if (as_service && AllocConsole()) ShowWindow(GetConsoleWindow(), SW_HIDE);
  STARTUPINFOW si;
  PROCESS_INFORMATION pi;
  ZeroMemory(&si, sizeof si);
  si.cb = sizeof si;
  if (log != INVALID_HANDLE_VALUE) {
    si.dwFlags = STARTF_USESTDHANDLES;
    si.hStdInput = NULL;
    si.hStdOutput = log;
    si.hStdError = log;
  }
  if (!CreateProcessW(NULL, cmd, NULL, NULL, TRUE, CREATE_NEW_PROCESS_GROUP | CREATE_UNICODE_ENVIRONMENT, NULL, here, &si, &pi)) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot start node.exe (error %lu)", (unsigned long)GetLastError());
    log_line(log, msg);
    return 2;
  }
  CloseHandle(pi.hThread);
  if (as_service) report(SERVICE_RUNNING, NO_ERROR, 0, 0);
  log_line(log, "agent started");
  HANDLE waits[2] = { pi.hProcess, stop_event };
  DWORD which = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
  DWORD code = 0;
  if (which == WAIT_OBJECT_0 + 1) {
    log_line(log, "stopping the agent (CTRL_BREAK)");
    GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, pi.dwProcessId);
    DWORD limit = stop_wait_s();
    if (WaitForSingleObject(pi.hProcess, limit * 1000) == WAIT_TIMEOUT) {
      char msg[128];
      snprintf(msg, sizeof msg, "the agent did not stop within %lu s: terminated", (unsigned long)limit);
      log_line(log, msg);
      TerminateProcess(pi.hProcess, 1);
      WaitForSingleObject(pi.hProcess, 5000);
    }
    code = 0;
  } else {
    GetExitCodeProcess(pi.hProcess, &code);
    char msg[128];
    snprintf(msg, sizeof msg, "the agent exited by itself (code %lu)", (unsigned long)code);
    log_line(log, msg);
    if (code == 0) code = 1; /* the agent only ends on a stop: any other end is a failure */
  }
  CloseHandle(pi.hProcess);
  return code;
}

static void WINAPI service_main(DWORD argc, LPWSTR *argv) {
  (void)argc; (void)argv;
  status_handle = RegisterServiceCtrlHandlerExW(SERVICE_NAME, control_handler, NULL);
  if (!status_handle) return;
  report(SERVICE_START_PENDING, NO_ERROR, 0, 10000);
  HANDLE log = open_log();
  DWORD code = run_agent(log, 1);
  if (log != INVALID_HANDLE_VALUE) CloseHandle(log);
  /* an error exit makes the SCM apply the failure actions (restart) */
  if (code == 0) report(SERVICE_STOPPED, NO_ERROR, 0, 0);
  else report(SERVICE_STOPPED, ERROR_SERVICE_SPECIFIC_ERROR, code, 0);
}

static int fail(const char *what) {
  fprintf(stderr, "meerkat-agent-service: %s failed (error %lu)\n", what, (unsigned long)GetLastError());
  return 1;
}

static int install(void) {
  wchar_t self[MAX_PATH], bin[MAX_PATH + 2];
  GetModuleFileNameW(NULL, self, MAX_PATH);
  _snwprintf(bin, MAX_PATH + 2, L"\"%ls\"", self);
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
  if (!scm) return fail("OpenSCManager");
  /* LocalSystem: capture through Npcap and Windows Firewall changes need it */
  SC_HANDLE svc = CreateServiceW(scm, SERVICE_NAME, DISPLAY_NAME, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                                 SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, bin, NULL, NULL, L"Tcpip\0\0", NULL, NULL);
  if (!svc && GetLastError() == ERROR_SERVICE_EXISTS) {
    /* an upgrade: same service, the binary path of this installation */
    svc = OpenServiceW(scm, SERVICE_NAME, SERVICE_ALL_ACCESS);
    if (svc && !ChangeServiceConfigW(svc, SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, bin, NULL, NULL, NULL, NULL, NULL, DISPLAY_NAME)) {
      CloseServiceHandle(svc);
      CloseServiceHandle(scm);
      return fail("ChangeServiceConfig");
    }
  }
  if (!svc) {
    CloseServiceHandle(scm);
    return fail("CreateService");
  }
  SERVICE_DESCRIPTIONW d = { (LPWSTR)DESCRIPTION };
  ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &d);
  SC_ACTION actions[3] = { { SC_ACTION_RESTART, 5000 }, { SC_ACTION_RESTART, 10000 }, { SC_ACTION_RESTART, 30000 } };
  SERVICE_FAILURE_ACTIONSW fa = { 86400, NULL, NULL, 3, actions };
  if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa)) fprintf(stderr, "meerkat-agent-service: failure actions not set (error %lu)\n", (unsigned long)GetLastError());
  SERVICE_FAILURE_ACTIONS_FLAG flag = { TRUE };
  if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag)) fprintf(stderr, "meerkat-agent-service: failure actions flag not set (error %lu)\n", (unsigned long)GetLastError());
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  printf("service %ls registered (automatic start, restart on failure)\n", SERVICE_NAME);
  return 0;
}

static SC_HANDLE open_service(DWORD access) {
  SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
  if (!scm) return NULL;
  SC_HANDLE svc = OpenServiceW(scm, SERVICE_NAME, access);
  CloseServiceHandle(scm);
  return svc;
}

static int stop_service(SC_HANDLE svc) {
  SERVICE_STATUS s;
  if (!QueryServiceStatus(svc, &s)) return fail("QueryServiceStatus");
  if (s.dwCurrentState == SERVICE_STOPPED) return 0;
  if (s.dwCurrentState != SERVICE_STOP_PENDING && !ControlService(svc, SERVICE_CONTROL_STOP, &s)) return fail("ControlService(stop)");
  for (DWORD i = 0; i < (stop_wait_s() * 1000 + 10000) / 250; i++) {
    if (QueryServiceStatus(svc, &s) && s.dwCurrentState == SERVICE_STOPPED) return 0;
    Sleep(250);
  }
  fprintf(stderr, "meerkat-agent-service: the service did not stop in time\n");
  return 1;
}

static int uninstall(void) {
  SC_HANDLE svc = open_service(SERVICE_ALL_ACCESS);
  if (!svc) {
    if (GetLastError() == ERROR_SERVICE_DOES_NOT_EXIST) return 0;
    return fail("OpenService");
  }
  stop_service(svc);
  int rc = DeleteService(svc) ? 0 : fail("DeleteService");
  CloseServiceHandle(svc);
  if (rc == 0) printf("service %ls removed\n", SERVICE_NAME);
  return rc;
}

static int start(void) {
  SC_HANDLE svc = open_service(SERVICE_START);
  if (!svc) return fail("OpenService");
  int rc = StartServiceW(svc, 0, NULL) || GetLastError() == ERROR_SERVICE_ALREADY_RUNNING ? 0 : fail("StartService");
  CloseServiceHandle(svc);
  return rc;
}

static int stop(void) {
  SC_HANDLE svc = open_service(SERVICE_STOP | SERVICE_QUERY_STATUS);
  if (!svc) return fail("OpenService");
  int rc = stop_service(svc);
  CloseServiceHandle(svc);
  return rc;
}

/* one JSON line: the registration as the SCM holds it (the tests read it) */
static int show_status(void) {
  SC_HANDLE svc = open_service(SERVICE_QUERY_CONFIG | SERVICE_QUERY_STATUS);
  if (!svc) return fail("OpenService");
  BYTE buf[8192];
  DWORD need;
  QUERY_SERVICE_CONFIGW *qc = (QUERY_SERVICE_CONFIGW *)buf;
  if (!QueryServiceConfigW(svc, qc, sizeof buf, &need)) return fail("QueryServiceConfig");
  char path[2 * MAX_PATH];
  WideCharToMultiByte(CP_UTF8, 0, qc->lpBinaryPathName, -1, path, sizeof path, NULL, NULL);
  /* JSON-safe: no quotes, forward slashes */
  char *w = path;
  for (char *p = path; *p; p++) if (*p != '"') *w++ = *p == '\\' ? '/' : *p;
  *w = 0;
  DWORD start_type = qc->dwStartType;
  SERVICE_STATUS s;
  QueryServiceStatus(svc, &s);
  BYTE fbuf[1024];
  int restarts = -1;
  unsigned long reset = 0;
  if (QueryServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, fbuf, sizeof fbuf, &need)) {
    SERVICE_FAILURE_ACTIONSW *fa = (SERVICE_FAILURE_ACTIONSW *)fbuf;
    restarts = 0;
    for (DWORD i = 0; i < fa->cActions; i++) if (fa->lpsaActions[i].Type == SC_ACTION_RESTART) restarts++;
    reset = fa->dwResetPeriod;
  }
  printf("{\"name\":\"MeerkatAgent\",\"binaryPath\":\"%s\",\"startType\":%lu,\"state\":%lu,\"restartActions\":%d,\"resetSeconds\":%lu}\n",
         path, (unsigned long)start_type, (unsigned long)s.dwCurrentState, restarts, reset);
  CloseServiceHandle(svc);
  return 0;
}

int wmain(int argc, wchar_t **argv) {
  if (argc > 1) {
    if (!wcscmp(argv[1], L"install")) return install();
    if (!wcscmp(argv[1], L"uninstall")) return uninstall();
    if (!wcscmp(argv[1], L"start")) return start();
    if (!wcscmp(argv[1], L"stop")) return stop();
    if (!wcscmp(argv[1], L"status")) return show_status();
    if (!wcscmp(argv[1], L"run")) {
      /* the service's work in the foreground, logging to the console (for diagnosis) */
      stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
      return (int)run_agent(INVALID_HANDLE_VALUE, 0);
    }
    fprintf(stderr, "usage: meerkat-agent-service.exe install|uninstall|start|stop|status|run\n");
    return 2;
  }
  stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  SERVICE_TABLE_ENTRYW table[] = { { (LPWSTR)SERVICE_NAME, service_main }, { NULL, NULL } };
  if (!StartServiceCtrlDispatcherW(table)) {
    if (GetLastError() == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
      fprintf(stderr, "meerkat-agent-service: started outside the Service Control Manager; use install|start|stop|status|run\n");
      return 2;
    }
    return fail("StartServiceCtrlDispatcher");
  }
  return 0;
}
