// The status screen's NTP line: chronyc's tracking and sources reports (formats of chronyc(1),
// chrony 4, with -n so names are addresses) put into words.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeNtp, formatOffset, parseSources } from '../../appliance/admin/chrony.js';

const tracking = (o: { ref: string; stratum: number; system: string; leap: string }) =>
  [
    `Reference ID    : ${o.ref}`,
    `Stratum         : ${o.stratum}`,
    'Ref time (UTC)  : Fri Jan 27 09:49:17 2017',
    `System time     : ${o.system}`,
    'Last offset     : -0.000006747 seconds',
    'RMS offset      : 0.000035822 seconds',
    'Frequency       : 3.225 ppm slow',
    'Residual freq   : -0.000 ppm',
    'Skew            : 0.129 ppm',
    'Root delay      : 0.013639022 seconds',
    'Root dispersion : 0.001100737 seconds',
    'Update interval : 64.2 seconds',
    `Leap status     : ${o.leap}`,
    '',
  ].join('\n');

const UNSYNCED = tracking({ ref: '00000000 ()', stratum: 0, system: '0.000000000 seconds fast of NTP time', leap: 'Not synchronised' });
const HEADER = 'MS Name/IP address         Stratum Poll Reach LastRx Last sample\n===============================================================================\n';

const cases: [string, string, string | undefined, string, boolean | undefined, string][] = [
  [
    'synchronised to an IPv4 server, clock fast',
    tracking({ ref: 'CB00710F (203.0.113.15)', stratum: 3, system: '0.000412345 seconds fast of NTP time', leap: 'Normal' }),
    undefined,
    '',
    true,
    'synchronised to 203.0.113.15 (stratum 2), offset 0.4 ms fast',
  ],
  [
    'synchronised to an IPv6 server (the reference ID is a hash), clock slow by microseconds, double space as chronyc prints it',
    tracking({ ref: '3B4F2C1A (2001:db8::123)', stratum: 2, system: ' 0.000006523 seconds slow of NTP time', leap: 'Normal' }),
    undefined,
    '',
    true,
    'synchronised to 2001:db8::123 (stratum 1), offset 7 µs slow',
  ],
  [
    'a leap second announced',
    tracking({ ref: 'C0A80105 (192.168.1.5)', stratum: 4, system: '1.250000000 seconds slow of NTP time', leap: 'Insert second' }),
    undefined,
    '',
    true,
    'synchronised to 192.168.1.5 (stratum 3), offset 1.250 s slow; a leap second will be inserted',
  ],
  [
    'the local clock as reference (no NTP server)',
    tracking({ ref: '7F7F0101 ()', stratum: 10, system: '0.000000000 seconds fast of NTP time', leap: 'Normal' }),
    undefined,
    '',
    true,
    'synchronised to the local clock, not an NTP server, offset 0 µs fast',
  ],
  ['not synchronised, no sources (chrony 4)', UNSYNCED, HEADER, '', false, 'not synchronised: no NTP servers configured'],
  ['not synchronised, no sources (older chrony, with the 210 line)', UNSYNCED, `210 Number of sources = 0\n${HEADER}`, '', false, 'not synchronised: no NTP servers configured'],
  [
    'not synchronised, servers never answered',
    UNSYNCED,
    `${HEADER}^? 10.0.0.5                      0   6     0     -     +0ns[   +0ns] +/-    0ns\n^? 10.0.0.6                      0   6     0     -     +0ns[   +0ns] +/-    0ns\n`,
    '',
    false,
    'not synchronised: no NTP server reachable (10.0.0.5, 10.0.0.6)',
  ],
  [
    'not synchronised yet, one server answered twice',
    UNSYNCED,
    `${HEADER}^? 10.0.0.5                      2   6     3     1    -12us[  -12us] +/-   20ms\n^? 10.0.0.6                      0   6     0     -     +0ns[   +0ns] +/-    0ns\n`,
    '',
    false,
    'not synchronised yet: 1 of 2 NTP servers reachable (10.0.0.5), waiting for enough samples',
  ],
  [
    'not synchronised, the servers are falsetickers',
    UNSYNCED,
    `${HEADER}^x 10.0.0.5                      2   6   377    12  +5000ms[+5000ms] +/-   20ms\n^x 10.0.0.6                      2   6   377    13  -3000ms[-3000ms] +/-   20ms\n`,
    '',
    false,
    'not synchronised: the NTP servers disagree about the time (10.0.0.5, 10.0.0.6)',
  ],
  ['chronyd not running', '', undefined, '506 Cannot talk to daemon\n', undefined, 'unknown: the time service (chrony) is not running'],
  ['something else entirely', 'garbage\n', undefined, '', undefined, 'unknown: chrony gave no tracking information (garbage)'],
];

for (const [name, t, s, err, synchronized, text] of cases) {
  test(`NTP: ${name}`, () => {
    assert.deepEqual(describeNtp(t, s, err), { synchronized, text });
  });
}

test('the sources report: mode, state, reach in octal; reference clocks and header lines are not servers', () => {
  const s = parseSources(`210 Number of sources = 3\n${HEADER}#* GPS0                          0   4   377    11   -479ns[ -621ns] +/-  134ns\n^+ 198.51.100.1                  1   6   377    21  -2629us[-2619us] +/-   86ms\n^- 2001:db8::1                   2  10    17   100   +12ms[  +12ms] +/-   40ms\n`);
  assert.deepEqual(s, [
    { mode: '#', state: '*', name: 'GPS0', stratum: 0, reach: 255 },
    { mode: '^', state: '+', name: '198.51.100.1', stratum: 1, reach: 255 },
    { mode: '^', state: '-', name: '2001:db8::1', stratum: 2, reach: 15 },
  ]);
});

test('offsets: µs, ms, s', () => {
  assert.equal(formatOffset(0.0000015), '2 µs');
  assert.equal(formatOffset(0.00041), '0.4 ms');
  assert.equal(formatOffset(0.0123), '12.3 ms');
  assert.equal(formatOffset(2.5), '2.500 s');
});
