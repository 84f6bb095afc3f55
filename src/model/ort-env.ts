// onnxruntime 1.30's Linux build carries Microsoft's 1DS telemetry: it writes a device id under
// ~/.cache/Microsoft/DeveloperTools and has an event collector. The tool opens no network
// connection and writes only its reports and pin file, so telemetry is switched off before the
// native library is loaded. Imported for its side effect, ahead of every onnxruntime-node import.
process.env.ORT_DISABLE_TELEMETRY ??= '1';
export {};
