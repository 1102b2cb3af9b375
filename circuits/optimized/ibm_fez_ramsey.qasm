// config: configs/ibm_fez_ramsey.yaml sha256:d0b018a99aa6288b
// objective: cfi = 6.570804981 rad^-2
// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)
// protocol: {"n_qubits": 3, "preparation": "ghz", "measurement": "ghz_parity", "prep_layers": 1, "meas_layers": 1, "noise": {"eta": [0.9546654241808609, 0.940113859414515, 0.9532083758870866], "gamma": [0.044492223620697935, 0.051035832685397575, 0.05126954826101271], "p01": [0.015869140625, 0.00146484375, 0.007568359375], "p10": [0.015869140625, 0.00146484375, 0.007568359375]}}
// params: [4.142410584006185, 3.0891266378960944]
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
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
rz(4.142410584006185) q[0];
ry(1.5183303111011979) q[0];
barrier q[0], q[1], q[2];
meas[0] = measure q[0];
meas[1] = measure q[1];
meas[2] = measure q[2];
