// The boot loader's configuration (GRUB 2, BIOS). The boot entry is unrestricted, but editing it or
// reaching GRUB's command line needs a superuser password that nobody knows (random at build time,
// only its PBKDF2 hash is kept): kernel arguments such as init=/bin/sh cannot be typed at the console.

export const ROOT_LABEL = 'keyhaven';

/** Kernel arguments: root by label, output on the VM console and the serial port, hardened allocator. */
export const KERNEL_ARGS = [
  `root=LABEL=${ROOT_LABEL}`,
  'ro',
  // The last console is /dev/console (boot messages of systemd); the VM console shows kernel output too.
  'console=tty0',
  'console=ttyS0,115200n8',
  // The consoles belong to the first-boot wizard, the login prompt and the menu: during boot the kernel
  // prints errors and worse only (quiet), systemd only failed units; 40-harden.sh then lowers the
  // console level to critical (kernel.printk). Everything is in the journal.
  'quiet',
  'systemd.show_status=error',
  'panic=10',
  'init_on_alloc=1',
  'slab_nomerge',
  'page_alloc.shuffle=1',
  'randomize_kstack_offset=on',
  'vsyscall=none',
  'debugfs=off',
];

export interface GrubConfigInput {
  /** `grub.pbkdf2.sha512.<iterations>.<salt>.<hash>` as printed by grub-mkpasswd-pbkdf2. */
  readonly superuserHash: string;
  readonly kernel: string;
  readonly initrd: string;
  readonly version: string;
}

const PBKDF2 = /^grub\.pbkdf2\.sha512\.\d+\.[0-9A-F]+\.[0-9A-F]+$/;

export function renderGrubConfig(input: GrubConfigInput): string {
  if (!PBKDF2.test(input.superuserHash)) throw new Error('grub superuser hash is not a grub.pbkdf2.sha512 hash');
  for (const [name, path] of [['kernel', input.kernel], ['initrd', input.initrd]] as const) {
    if (!/^\/[A-Za-z0-9._/+-]+$/.test(path)) throw new Error(`grub ${name} path ${JSON.stringify(path)} has characters GRUB would interpret`);
  }
  if (!/^[0-9A-Za-z.+~-]+$/.test(input.version)) throw new Error(`version ${JSON.stringify(input.version)} is not a plain version string`);
  return [
    '# Keyhaven boot loader configuration (written by the image build; the root file system is read-only to GRUB).',
    'serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1',
    'terminal_input console serial',
    'terminal_output console serial',
    'set timeout_style=hidden',
    'set timeout=1',
    'set default=0',
    'set superusers="root"',
    `password_pbkdf2 root ${input.superuserHash}`,
    '',
    `menuentry "Keyhaven ${input.version}" --unrestricted --id keyhaven {`,
    '  insmod ext2',
    `  search --no-floppy --label --set=root ${ROOT_LABEL}`,
    `  linux ${input.kernel} ${KERNEL_ARGS.join(' ')}`,
    `  initrd ${input.initrd}`,
    '}',
    '',
  ].join('\n');
}
