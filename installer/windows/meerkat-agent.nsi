; meerkat-agent-<version>-setup.exe: the Meerkat agent for Windows (x64), built with makensis
; by installer/build/windows-agent-package.ts, which passes:
;   VERSION   the product version           STAGE  the staged program files
;   OUTFILE   the installer to write        STORED files stored without compression (tests)
;                                           ORG    1 in an organisation's package, whose
;   ORG_COLLECTOR / ORG_TOKEN               owner files are in STAGE\owner (anon.key, box.pub,
;                                           operator-keys\*.pub)
;
; Silent install and enrollment, one command (an elevated prompt):
;   setup.exe /S /COLLECTOR=https://host:8443 /TOKEN=mk1... [/ANONKEY=C:\path\anon.key]
;             [/BOXPUB=C:\path\box.pub] [/OPERATORKEY=C:\path\op.pub] [/D=C:\other\folder]
; Silent removal: "C:\Program Files\Meerkat Agent\uninstall.exe" /S [/PURGE]
;
; Programs in %ProgramFiles%\Meerkat Agent; configuration, state (identity, owner keys, spool)
; and logs in %ProgramData%\Meerkat, readable by SYSTEM and Administrators only. Setup and the
; uninstaller write what they did to %ProgramData%\Meerkat\logs\setup.log. Node's output goes to
; files, never to pipes (cmd.exe redirection), which also works under Wine.
Unicode true
Target amd64-unicode
!ifdef STORED
  ; test builds (installer/build: compression "fast"): the same files, stored uncompressed
  SetCompress off
!else
  SetCompressor /SOLID lzma
!endif
RequestExecutionLevel admin
ManifestSupportedOS all

!include LogicLib.nsh
!include FileFunc.nsh
!include x64.nsh
!include StrFunc.nsh
${StrLoc}

!ifndef ORG
  !define ORG 0
!endif

Name "Meerkat Agent ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\Meerkat Agent"
ShowInstDetails show
ShowUninstDetails show

!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\MeerkatAgent"
!define DATA "$COMMONPROGRAMDATA\Meerkat"

Var Collector
Var Token
Var AnonKey
Var BoxPub
Var OperatorKey
Var Log
Var Enrolled

Page directory
Page instfiles
UninstPage uninstConfirm
UninstPage instfiles

; The value of /NAME= on the command line, up to the next space (or inside quotes). FileFunc's
; GetOptions cuts values at the next "/", i.e. inside https://host:port.
!macro ArgValue params name out
  ${StrLoc} $9 "${params}" "${name}" ">"
  ${If} $9 == ""
    StrCpy ${out} ""
  ${Else}
    StrLen $8 "${name}"
    IntOp $9 $9 + $8
    StrCpy ${out} "${params}" "" $9
    StrCpy $8 ${out} 1
    ${If} $8 == '"'
      StrCpy ${out} ${out} "" 1
      ${StrLoc} $9 ${out} '"' ">"
    ${Else}
      ${StrLoc} $9 ${out} " " ">"
    ${EndIf}
    ${If} $9 != ""
      StrCpy ${out} ${out} $9
    ${EndIf}
  ${EndIf}
!macroend

; a line to setup.log and to the details view
!macro Say text
  DetailPrint "${text}"
  FileWrite $Log "${text}$\r$\n"
!macroend

; runs a command through cmd.exe with its output appended to setup.log; exit code in $0
!macro RunLogged cmdline
  FileClose $Log
  ExecWait `"$SYSDIR\cmd.exe" /c "${cmdline} >> "${DATA}\logs\setup.log" 2>&1"` $0
  FileOpen $Log "${DATA}\logs\setup.log" a
  FileSeek $Log 0 END
!macroend

Function .onInit
  SetShellVarContext all
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "Meerkat Agent needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
  ; an upgrade installs where the previous version is (unless /D says otherwise)
  ReadRegStr $0 HKLM "${UNINSTALL_KEY}" "InstallLocation"
  ${If} $0 != ""
    StrCpy $INSTDIR $0
  ${EndIf}
  ${GetParameters} $R0
  !insertmacro ArgValue $R0 "/COLLECTOR=" $Collector
  !insertmacro ArgValue $R0 "/TOKEN=" $Token
  !insertmacro ArgValue $R0 "/ANONKEY=" $AnonKey
  !insertmacro ArgValue $R0 "/BOXPUB=" $BoxPub
  !insertmacro ArgValue $R0 "/OPERATORKEY=" $OperatorKey
  !if ${ORG} == 1
    ${If} $Collector == ""
      StrCpy $Collector "${ORG_COLLECTOR}"
    ${EndIf}
    ${If} $Token == ""
      StrCpy $Token "${ORG_TOKEN}"
    ${EndIf}
  !endif
FunctionEnd

Section "Meerkat Agent" SecMain
  SetShellVarContext all
  SetRegView 64
  CreateDirectory "${DATA}"
  CreateDirectory "${DATA}\logs"
  CreateDirectory "${DATA}\agent"
  FileOpen $Log "${DATA}\logs\setup.log" a
  FileSeek $Log 0 END
  !insertmacro Say "Meerkat Agent ${VERSION} setup into $INSTDIR"

  ; configuration, state and logs: SYSTEM and Administrators only (the endpoint user must not
  ; read what the agent captured, nor the owner's keys)
  nsExec::Exec '"$SYSDIR\icacls.exe" "${DATA}" /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F'
  Pop $0
  !insertmacro Say "access to ${DATA} limited to SYSTEM and Administrators (icacls exit $0)"

  ; Npcap: the capture driver the agent needs (https://npcap.com); its wpcap.dll lives in
  ; System32\Npcap and its key in HKLM\SOFTWARE\Npcap
  ReadRegStr $1 HKLM "SOFTWARE\Npcap" ""
  ${If} $1 == ""
  ${AndIfNot} ${FileExists} "$SYSDIR\Npcap\wpcap.dll"
    !insertmacro Say "WARNING: Npcap is not installed. The agent is installed, but it cannot capture until Npcap is: install it from https://npcap.com (default options), then run: sc start MeerkatAgent"
    MessageBox MB_ICONEXCLAMATION "Npcap is not installed.$\r$\n$\r$\nMeerkat Agent needs the Npcap capture driver. Install it from https://npcap.com (default options), then start the service: sc start MeerkatAgent" /SD IDOK
  ${Else}
    !insertmacro Say "Npcap found"
  ${EndIf}

  ; an upgrade: the running agent stops before its files are replaced
  ${If} ${FileExists} "$INSTDIR\meerkat-agent-service.exe"
    !insertmacro RunLogged '"$INSTDIR\meerkat-agent-service.exe" stop'
    !insertmacro Say "previous version stopped (exit $0)"
  ${EndIf}

  SetOutPath "$INSTDIR"
  File /r "${STAGE}/program/*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayName" "Meerkat Agent"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "Publisher" "Meerkat"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTALL_KEY}" "NoRepair" 1

  ; the configuration is the admin's once written: an upgrade keeps it
  ${IfNot} ${FileExists} "${DATA}\agent.json"
    SetOutPath "${DATA}"
    File "${STAGE}/agent.json"
    !insertmacro Say "configuration written: ${DATA}\agent.json"
  ${EndIf}

  !if ${ORG} == 1
    SetOutPath "${DATA}\owner"
    File /r "${STAGE}/owner/*.*"
    ${If} $AnonKey == ""
      StrCpy $AnonKey "${DATA}\owner\anon.key"
    ${EndIf}
    ${If} $BoxPub == ""
      StrCpy $BoxPub "${DATA}\owner\box.pub"
    ${EndIf}
  !endif

  ; the owner's keys, unless the agent has them (an upgrade keeps its keys)
  ${If} $AnonKey != ""
  ${AndIfNot} ${FileExists} "${DATA}\agent\anon.key"
    CopyFiles /SILENT "$AnonKey" "${DATA}\agent\anon.key"
    !insertmacro Say "anon.key installed"
  ${EndIf}
  ${If} $BoxPub != ""
  ${AndIfNot} ${FileExists} "${DATA}\agent\box.pub"
    CopyFiles /SILENT "$BoxPub" "${DATA}\agent\box.pub"
    !insertmacro Say "box.pub installed"
  ${EndIf}

  ; enrollment, once: an upgrade keeps the identity
  StrCpy $Enrolled 0
  ${If} ${FileExists} "${DATA}\agent\identity\identity.json"
    StrCpy $Enrolled 1
    !insertmacro Say "already enrolled: identity kept"
  ${ElseIf} $Collector != ""
  ${AndIf} $Token != ""
    ; operator keys to pin: the one given, or the organisation's
    StrCpy $2 ""
    ${If} $OperatorKey != ""
      StrCpy $2 '--operator-key "$OperatorKey"'
    ${ElseIf} ${FileExists} "${DATA}\owner\operator-keys\*.pub"
      FindFirst $3 $4 "${DATA}\owner\operator-keys\*.pub"
      ${DoWhile} $4 != ""
        StrCpy $2 '$2 --operator-key "${DATA}\owner\operator-keys\$4"'
        FindNext $3 $4
      ${Loop}
      FindClose $3
    ${EndIf}
    ; the token through the environment, not the command line
    System::Call 'Kernel32::SetEnvironmentVariable(t "MEERKAT_ENROLL_TOKEN", t "$Token")i'
    !insertmacro RunLogged '"$INSTDIR\node.exe" "$INSTDIR\meerkat-agent.js" enroll --config "${DATA}\agent.json" --collector "$Collector" --json $2'
    System::Call 'Kernel32::SetEnvironmentVariable(t "MEERKAT_ENROLL_TOKEN", p 0)i'
    ${If} $0 == 0
      StrCpy $Enrolled 1
      !insertmacro Say "enrolled with $Collector"
    ${Else}
      !insertmacro Say "ERROR: enrollment with $Collector failed (exit $0); the reason is above. Enroll later with: meerkat-agent enroll --collector URL --token TOKEN, then: sc start MeerkatAgent"
      MessageBox MB_ICONSTOP "Enrollment with $Collector failed: see ${DATA}\logs\setup.log" /SD IDOK
      SetErrorLevel 3
    ${EndIf}
  ${Else}
    !insertmacro Say "installed, not enrolled (no /COLLECTOR and /TOKEN): enroll with meerkat-agent enroll --collector URL --token TOKEN, then: sc start MeerkatAgent"
  ${EndIf}

  !insertmacro RunLogged '"$INSTDIR\meerkat-agent-service.exe" install'
  ${If} $0 != 0
    !insertmacro Say "ERROR: the service could not be registered (exit $0)"
    SetErrorLevel 4
  ${ElseIf} $Enrolled == 1
    !insertmacro RunLogged '"$INSTDIR\meerkat-agent-service.exe" start'
    !insertmacro Say "service MeerkatAgent started (exit $0)"
  ${EndIf}
  !insertmacro Say "setup done"
  FileClose $Log
SectionEnd

Section "Uninstall"
  SetShellVarContext all
  SetRegView 64
  CreateDirectory "${DATA}\logs"
  FileOpen $Log "${DATA}\logs\setup.log" a
  FileSeek $Log 0 END
  !insertmacro Say "Meerkat Agent ${VERSION} removal from $INSTDIR"
  ; the service first: it must not put rules back
  !insertmacro RunLogged '"$INSTDIR\meerkat-agent-service.exe" uninstall'
  !insertmacro Say "service removed (exit $0)"
  ; every interdiction rule of the agent (agent/interdiction/windows-firewall.ts: one rule
  ; group, QoS policies named Meerkat-*): a host must never stay cut off by a removed agent
  !insertmacro RunLogged `powershell.exe -NoProfile -NonInteractive -Command "Get-NetFirewallRule -Group 'Meerkat Interdiction' -ErrorAction SilentlyContinue | Remove-NetFirewallRule; Get-NetQosPolicy -ErrorAction SilentlyContinue | Where-Object { $$_.Name -like 'Meerkat-*' } | Remove-NetQosPolicy -Confirm:$$false"`
  ${If} $0 == 0
    !insertmacro Say "interdiction rules removed"
  ${Else}
    !insertmacro Say "WARNING: removing the interdiction rules failed (exit $0): remove the firewall rule group 'Meerkat Interdiction' by hand"
  ${EndIf}
  Delete "${DATA}\agent\control\interdiction.json"

  RMDir /r "$INSTDIR\node_modules"
  Delete "$INSTDIR\*.js"
  Delete "$INSTDIR\*.js.map"
  Delete "$INSTDIR\node.exe"
  Delete "$INSTDIR\meerkat-agent-service.exe"
  Delete "$INSTDIR\meerkat-agent.cmd"
  Delete "$INSTDIR\README.md"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTALL_KEY}"

  ${un.GetParameters} $R0
  ClearErrors
  ${un.GetOptions} $R0 "/PURGE" $R1
  ${IfNot} ${Errors}
    FileClose $Log
    RMDir /r "${DATA}"
  ${Else}
    !insertmacro Say "removed; identity, keys, spool and configuration kept in ${DATA} (uninstall.exe /S /PURGE removes them)"
    FileClose $Log
  ${EndIf}
SectionEnd
