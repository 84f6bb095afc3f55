/**
 * Which pickle imports are acceptable in a model checkpoint.
 *
 * Allow-list first, by exact callable: block lists of "dangerous" callables keep being bypassed
 * (many advisories against picklescan), and no module is trusted as a whole — `torch` holds
 * `torch._inductor.codecache.compile_file`, which runs a compiler command. Anything not in
 * SAFE_GLOBALS (what torch's own `weights_only` unpickler admits, plus numpy arrays and plain
 * containers) is `unknown`, and the scan refuses the file; the danger list only decides how loud
 * the finding is.
 */

export type GlobalVerdict = { kind: 'safe' } | { kind: 'dangerous'; reason: string } | { kind: 'unknown' };

const TORCH_STORAGES = [
  'Float', 'Double', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool',
  'ComplexFloat', 'ComplexDouble', 'QUInt8', 'QInt8', 'QInt32', 'QUInt4x2', 'QUInt2x4', 'Untyped',
  'Float8_e4m3fn', 'Float8_e5m2', 'Float8_e4m3fnuz', 'Float8_e5m2fnuz',
];
// The legacy typed tensor classes (`torch._tensor_classes`), which old checkpoints name.
const TORCH_TENSOR_TYPES = ['Float', 'Double', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool'];
const TORCH_DTYPES = [
  'float32', 'float', 'float16', 'half', 'bfloat16', 'float64', 'double', 'int64', 'long', 'int32', 'int',
  'int16', 'short', 'int8', 'uint8', 'bool', 'complex64', 'cfloat', 'complex128', 'cdouble',
  'float8_e4m3fn', 'float8_e5m2', 'qint8', 'quint8', 'qint32', 'uint16', 'uint32', 'uint64', 'complex32', 'chalf',
];
const SAFE_BUILTINS = ['set', 'frozenset', 'dict', 'list', 'tuple', 'int', 'float', 'complex', 'bytes', 'bytearray', 'str', 'bool', 'slice', 'range', 'object'];

/** Exact `module.name` strings needed to rebuild tensors, state dicts and numpy arrays. */
export const SAFE_GLOBALS: ReadonlySet<string> = new Set([
  'collections.OrderedDict',
  ...['_rebuild_tensor', '_rebuild_tensor_v2', '_rebuild_parameter', '_rebuild_parameter_with_state', '_rebuild_qtensor', '_rebuild_sparse_tensor', '_rebuild_sparse_csr_tensor', '_rebuild_meta_tensor_no_storage', '_rebuild_device_tensor_from_numpy', '_rebuild_from_type_v2'].map((n) => `torch._utils.${n}`),
  'torch.serialization._get_layout',
  ...TORCH_TENSOR_TYPES.map((t) => `torch.${t}Tensor`),
  'torch._tensor._rebuild_from_type_v2',
  ...TORCH_STORAGES.map((s) => `torch.${s}Storage`),
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  ...TORCH_DTYPES.map((d) => `torch.${d}`),
  'torch.Size',
  'torch.device',
  'torch.Tensor',
  'torch.nn.parameter.Parameter',
  ...['numpy.core.multiarray', 'numpy._core.multiarray'].flatMap((m) => [`${m}._reconstruct`, `${m}.scalar`]),
  'numpy.dtype',
  'numpy.ndarray',
  ...SAFE_BUILTINS.map((b) => `builtins.${b}`),
  'copyreg._reconstructor',
  'copyreg.__newobj__',
  'copyreg.__newobj_ex__',
  '_codecs.encode',
]);

/**
 * Whole modules (and their submodules) with no business in a checkpoint: process, file, network,
 * interpreter and nested-deserialisation access. `builtins` and `copyreg` are here too; their few
 * harmless members are allow-listed above and checked first.
 */
const DANGEROUS_MODULES: ReadonlyMap<string, string> = new Map([
  ...['os', 'posix', 'nt', 'subprocess', '_posixsubprocess', 'pty', 'signal', 'fcntl', 'resource', 'mmap'].map((m) => [m, 'process or OS access'] as const),
  ...['sys', 'runpy', 'importlib', 'imp', 'zipimport', 'pkgutil', 'site', 'code', 'codeop', 'pdb', 'bdb', 'timeit', 'cProfile', 'profile', 'trace', 'doctest', 'pydoc', 'ctypes', '_ctypes', 'marshal', 'types', 'inspect'].map((m) => [m, 'interpreter or code execution'] as const),
  ...['builtins', '__builtin__', '__builtins__', 'copyreg', 'copy_reg'].map((m) => [m, 'interpreter built-in beyond plain containers'] as const),
  ...['socket', '_socket', 'ssl', 'http', 'httplib', 'urllib', 'urllib2', 'ftplib', 'smtplib', 'telnetlib', 'poplib', 'imaplib', 'nntplib', 'requests', 'aiohttp', 'webbrowser', 'antigravity', 'asyncio', 'select', 'selectors'].map((m) => [m, 'network or browser access'] as const),
  ...['shutil', 'io', '_io', 'tempfile'].map((m) => [m, 'file system access'] as const),
  ...['pickle', '_pickle', 'cPickle', 'dill', 'cloudpickle', 'joblib', 'shelve', 'torch.hub', 'torch.package', 'torch.jit', 'torch.serialization', 'torch.storage', 'numpy.f2py', 'numpy.distutils', 'numpy.testing', 'numpy.ctypeslib', 'numpy.lib.npyio', 'pandas.io'].map((m) => [m, 'nested deserialisation or code loading'] as const),
  // torch modules that compile, build or run code: the compiler stack, C++ extensions, FX code
  // generation, the op registry and its native bindings.
  ...['torch._inductor', 'torch._dynamo', 'torch.compiler', 'torch.utils.cpp_extension', 'torch.fx', 'torch._C', 'torch.ops', 'torch._ops', 'torch.library', 'torch.cuda', 'torch.backends', 'torch.distributed', 'torch.multiprocessing', 'torch.utils.data', 'torch._export', 'torch.export'].map((m) => [m, 'torch code compilation or execution'] as const),
  ...['multiprocessing', '_multiprocessing', 'threading', '_thread', 'thread', 'concurrent', 'commands', 'pip', 'ensurepip', 'venv', 'distutils', 'setuptools'].map((m) => [m, 'process or package management'] as const),
]);

/** Single callables that are gadgets even though their module is otherwise ordinary. */
const DANGEROUS_GLOBALS: ReadonlyMap<string, string> = new Map([
  ...['functools.partial', 'functools.partialmethod', 'functools.reduce', 'operator.attrgetter', 'operator.itemgetter', 'operator.methodcaller', '_operator.attrgetter', '_operator.itemgetter', '_operator.methodcaller'].map((g) => [g, 'call gadget'] as const),
  ...['torch.load', 'torch.serialization.load', 'torch.storage._load_from_bytes', 'numpy.load', 'numpy.lib.npyio.load', 'pandas.read_pickle'].map((g) => [g, 'nested deserialisation'] as const),
]);

// Python 3's unpickler maps Python 2 names for protocols < 3 (`_compat_pickle`); `commands.getoutput`
// really runs `subprocess.getoutput`, so classify the mapped name too.
const COMPAT_MODULES: ReadonlyMap<string, string> = new Map([
  ['__builtin__', 'builtins'],
  ['copy_reg', 'copyreg'],
  ['cPickle', 'pickle'],
  ['commands', 'subprocess'],
  ['urllib2', 'urllib.request'],
  ['httplib', 'http.client'],
  ['thread', '_thread'],
  ['exceptions', 'builtins'],
  ['cStringIO', 'io'],
  ['StringIO', 'io'],
  ['UserDict', 'collections'],
]);
const COMPAT_NAMES: ReadonlyMap<string, string> = new Map([
  ['__builtin__.reduce', 'functools.reduce'],
  ['__builtin__.intern', 'sys.intern'],
  ['__builtin__.xrange', 'builtins.range'],
  ['__builtin__.unicode', 'builtins.str'],
  ['__builtin__.long', 'builtins.int'],
  ['__builtin__.basestring', 'builtins.str'],
]);

export function compatName(module: string, name: string): string {
  const full = `${module}.${name}`;
  const mapped = COMPAT_NAMES.get(full);
  if (mapped) return mapped;
  const m = COMPAT_MODULES.get(module);
  return m ? `${m}.${name}` : full;
}

function dangerReason(full: string): string | undefined {
  const exact = DANGEROUS_GLOBALS.get(full);
  if (exact) return exact;
  // `torch` + `hub.load` and `torch.hub` + `load` reach the same object (protocol 4 resolves dotted
  // names by getattr), so match on the joined name and every module prefix of it.
  const parts = full.split('.');
  for (let i = 1; i < parts.length; i++) {
    const reason = DANGEROUS_MODULES.get(parts.slice(0, i).join('.'));
    if (reason) return `${reason}: module ${parts.slice(0, i).join('.')}`;
  }
  return undefined;
}

export function classifyGlobal(module: string, name: string): GlobalVerdict {
  const mapped = compatName(module, name);
  if (SAFE_GLOBALS.has(mapped)) return { kind: 'safe' };
  // A dunder attribute in the name (`OrderedDict.__init__.__globals__`) walks from a harmless object
  // to the interpreter's internals.
  if (name.split('.').some((p) => /^__.*__$/.test(p))) return { kind: 'dangerous', reason: 'dunder attribute traversal' };
  const reason = dangerReason(mapped) ?? dangerReason(`${module}.${name}`);
  if (reason) return { kind: 'dangerous', reason };
  return { kind: 'unknown' };
}
