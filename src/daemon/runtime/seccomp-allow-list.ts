/**
 * The system calls a container may make under the default seccomp profile, which is an allow-list:
 * every call not named here fails with EPERM. The set is the one Docker's default profile allows
 * (moby's profiles/seccomp, as of Docker 28: no io_uring, no keyring, no userfaultfd), written here
 * as our own table grouped by what the calls do, so that a reader can see why each is there.
 *
 * Names unknown to the machine's libseccomp or kernel are skipped by runc, so the table may name
 * calls newer than either (fchmodat2, listmount, ...). To change what containers may do, edit
 * these groups (and docs/embedded-engine.md), or give a service `security_opt: [seccomp=FILE]`.
 */

/** Allowed whatever the container's capabilities. */
export const ALWAYS_ALLOWED: Readonly<Record<string, readonly string[]>> = {
  'paths and directories': [
    'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'getcwd', 'mkdir', 'mkdirat', 'rmdir', 'mknod', 'mknodat',
    'link', 'linkat', 'symlink', 'symlinkat', 'readlink', 'readlinkat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2',
    'getdents', 'getdents64', 'umask', 'name_to_handle_at',
  ],
  'ownership, modes and times': [
    'chmod', 'fchmod', 'fchmodat', 'fchmodat2', 'chown', 'chown32', 'fchown', 'fchown32', 'fchownat', 'lchown', 'lchown32',
    'utime', 'utimes', 'utimensat', 'utimensat_time64', 'futimesat',
  ],
  'file status': [
    'stat', 'stat64', 'lstat', 'lstat64', 'fstat', 'fstat64', 'fstatat64', 'newfstatat', 'statx',
    'statfs', 'statfs64', 'fstatfs', 'fstatfs64', 'statmount', 'listmount',
  ],
  'extended attributes': [
    'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat',
    'listxattr', 'llistxattr', 'flistxattr', 'listxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
  ],
  'opening, reading and writing': [
    'open', 'openat', 'openat2', 'creat', 'close', 'close_range', 'dup', 'dup2', 'dup3', 'fcntl', 'fcntl64', 'flock', 'ioctl',
    'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2', 'lseek', '_llseek',
    'truncate', 'truncate64', 'ftruncate', 'ftruncate64', 'fallocate', 'readahead', 'fadvise64', 'fadvise64_64', 'cachestat',
    'sendfile', 'sendfile64', 'splice', 'tee', 'vmsplice', 'copy_file_range',
    'sync', 'syncfs', 'fsync', 'fdatasync', 'sync_file_range',
  ],
  'asynchronous I/O (the old AIO interface; io_uring stays out)': [
    'io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents', 'io_pgetevents_time64',
  ],
  'waiting on descriptors and events': [
    'poll', 'ppoll', 'ppoll_time64', 'select', '_newselect', 'pselect6', 'pselect6_time64',
    'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old', 'epoll_wait', 'epoll_wait_old', 'epoll_pwait', 'epoll_pwait2',
    'eventfd', 'eventfd2', 'signalfd', 'signalfd4', 'pipe', 'pipe2',
    'timerfd_create', 'timerfd_gettime', 'timerfd_gettime64', 'timerfd_settime', 'timerfd_settime64',
    'inotify_init', 'inotify_init1', 'inotify_add_watch', 'inotify_rm_watch', 'fanotify_mark',
  ],
  memory: [
    'brk', 'mmap', 'mmap2', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'remap_file_pages',
    'mlock', 'mlock2', 'mlockall', 'munlock', 'munlockall', 'membarrier', 'memfd_create', 'memfd_secret',
    'pkey_alloc', 'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'mseal', 'process_mrelease',
  ],
  'processes and threads': [
    'fork', 'vfork', 'execve', 'execveat', 'exit', 'exit_group', 'wait4', 'waitid', 'waitpid',
    'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid',
    'set_tid_address', 'set_robust_list', 'get_robust_list', 'set_thread_area', 'get_thread_area', 'rseq',
    'prctl', 'seccomp', 'restart_syscall', 'capget', 'capset', 'uretprobe', 'riscv_hwprobe',
    'getrlimit', 'setrlimit', 'ugetrlimit', 'prlimit64', 'getrusage', 'times', 'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set',
    'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self',
  ],
  'user and group ids': [
    'getuid', 'getuid32', 'geteuid', 'geteuid32', 'getgid', 'getgid32', 'getegid', 'getegid32',
    'getresuid', 'getresuid32', 'getresgid', 'getresgid32', 'getgroups', 'getgroups32',
    'setuid', 'setuid32', 'setgid', 'setgid32', 'setreuid', 'setreuid32', 'setregid', 'setregid32',
    'setresuid', 'setresuid32', 'setresgid', 'setresgid32', 'setfsuid', 'setfsuid32', 'setfsgid', 'setfsgid32', 'setgroups', 'setgroups32',
  ],
  signals: [
    'kill', 'tkill', 'tgkill', 'pidfd_open', 'pidfd_send_signal', 'pause', 'alarm', 'sigaltstack', 'sigprocmask', 'sigreturn',
    'rt_sigaction', 'rt_sigpending', 'rt_sigprocmask', 'rt_sigqueueinfo', 'rt_sigreturn', 'rt_sigsuspend',
    'rt_sigtimedwait', 'rt_sigtimedwait_time64', 'rt_tgsigqueueinfo',
  ],
  futexes: ['futex', 'futex_time64', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue'],
  scheduling: [
    'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam', 'sched_setparam',
    'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
    'sched_rr_get_interval', 'sched_rr_get_interval_time64', 'getcpu',
  ],
  'clocks and timers (reading; setting the clock needs CAP_SYS_TIME)': [
    'time', 'gettimeofday', 'clock_gettime', 'clock_gettime64', 'clock_getres', 'clock_getres_time64',
    'clock_nanosleep', 'clock_nanosleep_time64', 'nanosleep', 'adjtimex', 'clock_adjtime', 'clock_adjtime64',
    'getitimer', 'setitimer', 'timer_create', 'timer_delete', 'timer_getoverrun', 'timer_gettime', 'timer_gettime64', 'timer_settime', 'timer_settime64',
  ],
  'sockets (socket itself is filtered by address family)': [
    'socketpair', 'socketcall', 'bind', 'connect', 'listen', 'accept', 'accept4', 'getsockname', 'getpeername', 'getsockopt', 'setsockopt',
    'send', 'sendto', 'sendmsg', 'sendmmsg', 'recv', 'recvfrom', 'recvmsg', 'recvmmsg', 'recvmmsg_time64', 'shutdown',
  ],
  'System V and POSIX IPC': [
    'ipc', 'msgget', 'msgctl', 'msgsnd', 'msgrcv', 'semget', 'semctl', 'semop', 'semtimedop', 'semtimedop_time64',
    'shmget', 'shmctl', 'shmat', 'shmdt',
    'mq_open', 'mq_unlink', 'mq_notify', 'mq_getsetattr', 'mq_timedsend', 'mq_timedsend_time64', 'mq_timedreceive', 'mq_timedreceive_time64',
  ],
  'the system': ['uname', 'sysinfo', 'getrandom'],
};

/** Allowed only on these architectures (Node's names: process.arch). */
export const ARCH_ALLOWED: readonly { arches: readonly string[]; names: readonly string[] }[] = [
  { arches: ['x64'], names: ['arch_prctl'] },
  { arches: ['x64', 'ia32'], names: ['modify_ldt'] },
  { arches: ['arm', 'arm64'], names: ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls'] },
];

/** Allowed when the container holds the capability (names without CAP_). */
export const CAPABILITY_ALLOWED: readonly { cap: string; names: readonly string[] }[] = [
  {
    cap: 'SYS_ADMIN',
    names: [
      'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
      'unshare', 'setns', 'clone', 'clone3', 'sethostname', 'setdomainname', 'quotactl', 'quotactl_fd', 'lookup_dcookie',
      'fanotify_init', 'bpf', 'perf_event_open', 'syslog', 'lsm_get_self_attr', 'lsm_set_self_attr', 'lsm_list_modules',
    ],
  },
  { cap: 'DAC_READ_SEARCH', names: ['open_by_handle_at'] },
  { cap: 'SYS_BOOT', names: ['reboot'] },
  { cap: 'SYS_CHROOT', names: ['chroot'] },
  { cap: 'SYS_MODULE', names: ['init_module', 'finit_module', 'delete_module'] },
  { cap: 'SYS_PACCT', names: ['acct'] },
  { cap: 'SYS_PTRACE', names: ['ptrace', 'process_vm_readv', 'process_vm_writev', 'process_madvise', 'kcmp', 'pidfd_getfd'] },
  { cap: 'SYS_RAWIO', names: ['iopl', 'ioperm'] },
  { cap: 'SYS_TIME', names: ['settimeofday', 'stime', 'clock_settime', 'clock_settime64'] },
  { cap: 'SYS_TTY_CONFIG', names: ['vhangup'] },
  { cap: 'SYS_NICE', names: ['get_mempolicy', 'set_mempolicy', 'mbind', 'set_mempolicy_home_node'] },
  { cap: 'SYSLOG', names: ['syslog'] },
  { cap: 'BPF', names: ['bpf'] },
  { cap: 'PERFMON', names: ['perf_event_open'] },
];

/**
 * ptrace and reading or writing another process's memory: allowed without CAP_SYS_PTRACE from
 * Linux 4.8 on, where seccomp is checked again after a tracer changes a call, so a traced process
 * cannot be used to slip past the filter.
 */
export const PTRACE_CALLS: readonly string[] = ['ptrace', 'process_vm_readv', 'process_vm_writev'];
export const PTRACE_MIN_KERNEL: readonly [number, number] = [4, 8];
