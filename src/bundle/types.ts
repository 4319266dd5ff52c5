/** A Distributed Application Bundle (.dab), version 0.1, as Docker 1.12 defined it. */

export interface BundlePort {
  Protocol: string;
  Port: number;
}

export interface BundleService {
  Image: string;
  Command?: string[];
  Args?: string[];
  Env?: string[];
  Labels?: Record<string, string>;
  Ports?: BundlePort[];
  WorkingDir?: string;
  User?: string;
  Networks?: string[];
}

export interface Bundle {
  Version: string;
  Services: Record<string, BundleService>;
}

export const BUNDLE_VERSION = '0.1';
