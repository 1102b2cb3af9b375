// config: configs/multiparameter_vector_field.yaml sha256:bc145b15b30d81a0
// objective: cfi = 3.997587714 rad^-2
// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)
// protocol: {"n_qubits": 2, "preparation": "hea", "measurement": "local", "prep_layers": 1, "meas_layers": 1, "noise": {"eta": [1.0, 1.0], "gamma": [0.0, 0.0], "p01": [0.0, 0.0], "p10": [0.0, 0.0]}}
// params: [1.5710990702579555, -0.2877029727145301, 0.12005487128477005, -1.6099603665280808, 0.25801610529667585, -1.6410052938042476, 0.23000939129588724, -1.115834066956886, 0.645435037673688, 1.5926031482852976, -2.7873275414089385, 1.5550103731781084]
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
bit[2] meas;
qubit[2] q;
ry(1.5710990702579555) q[0];
rz(-0.2877029727145301) q[0];
ry(0.12005487128477005) q[1];
rz(-1.6099603665280808) q[1];
cx q[0], q[1];
ry(0.25801610529667585) q[0];
rz(-1.6410052938042476) q[0];
ry(0.23000939129588724) q[1];
rz(-1.115834066956886) q[1];
rz(phi) q[0];
rz(phi) q[1];
rz(0.645435037673688) q[0];
ry(1.5926031482852976) q[0];
rz(-2.7873275414089385) q[1];
ry(1.5550103731781084) q[1];
barrier q[0], q[1];
meas[0] = measure q[0];
meas[1] = measure q[1];
