/**
 * Which certificate a TLS server presents right now, seen from outside: how the SPIRE suite checks
 * that Nexus and the keepers picked up a rotated SVID.
 */
import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';

/** Serial number of the certificate a TLS server on 127.0.0.1:`port` presents right now. */
export function presentedSerial(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // No client certificate: with TLS 1.3 the server's certificate arrives before it can refuse us.
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    const timer = setTimeout(() => socket.destroy(new Error('TLS probe timed out')), 5000);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw).serialNumber);
    });
    socket.once('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
