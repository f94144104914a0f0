#!/usr/bin/env node
// Runs after `npm ci` (package.json "postinstall"), then rebuilds the `cap` addon. Two changes
// to cap 0.2.1's binding, both for the capture ring (docs/capture.md):
//
// 1. A snapshot length chosen by the caller (an optional fifth argument to open()). cap fixes it
//    at 65535, and in immediate mode libpcap's TPACKET_V2 ring has fixed slots sized from the
//    snapshot length, 64 KiB each on an interface with GRO/TSO on: a 32 MiB ring then holds
//    about 500 packets, and a burst of knocks overflows it. With spagate's 1984 bytes, a slot
//    is 2 KiB and the same ring holds 16,384.
// 2. Immediate mode called directly. cap looks pcap_set_immediate_mode up with
//    dlopen("libpcap.so"), a name only libpcap-dev installs, so on a runtime system (the
//    Docker image) immediate mode was silently off and a knock could wait a whole second.
//
// The patched addon exports `spagatePatch` (this script's PATCH_LEVEL), which the capture
// adapter reads. An unknown cap version is left alone with a warning; spagate then runs with
// cap's defaults and says so in its log. Idempotent: a second run changes nothing.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PATCH_LEVEL = 1;
const MARKER = `// spagate-patch ${PATCH_LEVEL}`;
const require = createRequire(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Literal edits; each `find` must occur exactly once in cap 0.2.1's src/binding.cc. */
const EDITS = [
  {
    find: '      int buffer_size = Nan::To<int32_t>(info[2]).FromJust();\n',
    replace: `      int buffer_size = Nan::To<int32_t>(info[2]).FromJust();
      int snaplen = 65535;
      if (info.Length() > 4 && !info[4]->IsUndefined()) {
        if (!info[4]->IsUint32())
          return Nan::ThrowTypeError("snaplen must be a positive integer");
        snaplen = Nan::To<int32_t>(info[4]).FromJust();
        if (snaplen < 64 || snaplen > 65535)
          return Nan::ThrowRangeError("snaplen must be between 64 and 65535");
      }
`,
  },
  {
    find: 'pcap_set_snaplen(obj->pcap_handle, 65535)',
    replace: 'pcap_set_snaplen(obj->pcap_handle, snaplen)',
  },
  {
    find: '      if (set_immediate_mode != nullptr)\n        set_immediate_mode(obj->pcap_handle, 1);\n',
    replace: `      if (pcap_set_immediate_mode(obj->pcap_handle, 1) != 0)
        return Nan::ThrowError("Unable to set immediate mode");
`,
  },
  {
    find: '    Pcap::Initialize(target);\n',
    replace: `    Pcap::Initialize(target);
    Nan::Set(target,
             Nan::New<String>("spagatePatch").ToLocalChecked(),
             Nan::New<Uint32>(${PATCH_LEVEL})).FromJust();
`,
  },
];

function say(msg) {
  process.stderr.write(`spagate patch-cap: ${msg}\n`);
}

function capDir() {
  try {
    return dirname(require.resolve('cap/package.json'));
  } catch {
    return null;
  }
}

function builtLevel(dir) {
  const addon = join(dir, 'build', 'Release', 'cap.node');
  if (!existsSync(addon)) return null;
  try {
    return require(addon).spagatePatch ?? 0;
  } catch {
    return null;
  }
}

/**
 * Through npm (`npm rebuild cap`), so that npm's settings reach node-gyp (nodedir among them:
 * where Node's headers are, without a download). Inside `npm ci` npm_execpath names npm.
 */
function rebuild() {
  const npm = process.env.npm_execpath;
  const [cmd, args] = npm && existsSync(npm) ? [process.execPath, [npm]] : ['npm', []];
  const r = spawnSync(cmd, [...args, 'rebuild', 'cap', '--foreground-scripts', '--no-audit', '--no-fund'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 600_000,
  });
  return r.status === 0;
}

function main() {
  const dir = capDir();
  if (!dir) {
    say('cap is not installed; nothing to do');
    return 0;
  }
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const source = join(dir, 'src', 'binding.cc');
  const original = readFileSync(source, 'utf8');
  if (original.includes(MARKER) && builtLevel(dir) === PATCH_LEVEL) return 0;

  let patched = original;
  if (!original.includes(MARKER)) {
    for (const e of EDITS) {
      if (patched.split(e.find).length !== 2) {
        say(
          `cap ${version} is not the 0.2.1 this patch knows; left unpatched (snapshot length 65535, immediate mode only with libpcap-dev)`,
        );
        return 0;
      }
      patched = patched.replace(e.find, e.replace);
    }
    patched = `${MARKER}\n${patched}`;
  }
  const backup = `${source}.orig`;
  if (!original.includes(MARKER)) copyFileSync(source, backup);
  writeFileSync(source, patched);
  if (rebuild() && builtLevel(dir) === PATCH_LEVEL) {
    say(`cap ${version} rebuilt with a settable snapshot length and direct immediate mode`);
    return 0;
  }
  if (!existsSync(backup)) return 1;
  say('the patched cap did not build; restoring and rebuilding the original');
  copyFileSync(backup, source);
  return rebuild() ? 0 : 1;
}

process.exitCode = main();
