// qlearn-sense ansatz template ghz-ghz_parity-n3; inputs _theta_i_ (rad, 2 parameters) and phi (signal phase per qubit, rad)
// protocol: {"n_qubits": 3, "preparation": "ghz", "measurement": "ghz_parity", "prep_layers": 0, "meas_layers": 0, "noise": {"eta": [1.0, 1.0, 1.0], "gamma": [0.0, 0.0, 0.0], "p01": [0.0, 0.0, 0.0], "p10": [0.0, 0.0, 0.0]}}
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
input float[64] _theta_0_;
input float[64] _theta_1_;
bit[3] meas;
qubit[3] q;
h q[0];
cx q[0], q[1];
cx q[1], q[2];
rz(phi) q[0];
rz(phi) q[1];
rz(phi) q[2];
cx q[1], q[2];
cx q[0], q[1];
rz(_theta_0_) q[0];
ry(-pi/2 + _theta_1_) q[0];
barrier q[0], q[1], q[2];
meas[0] = measure q[0];
meas[1] = measure q[1];
meas[2] = measure q[2];
