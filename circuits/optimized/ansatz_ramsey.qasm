// config: configs/ansatz_ramsey.yaml sha256:4dd6b0dc20c8a0c0
// objective: cfi = 3.274923011 rad^-2
// qlearn-sense optimized protocol; input phi = signal phase per qubit (rad)
// protocol: {"n_qubits": 4, "preparation": "ramsey", "measurement": "local", "prep_layers": 2, "meas_layers": 1, "noise": {"eta": [0.9048374180359596, 0.9048374180359596, 0.9048374180359596, 0.9048374180359596], "gamma": [0.0, 0.0, 0.0, 0.0], "p01": [0.0, 0.0, 0.0, 0.0], "p10": [0.0, 0.0, 0.0, 0.0]}}
// params: [1.5690507136996232, -1.5707736022422603, -1.5725121208429849, -1.570780057013195, 1.5690357559052408, 1.5707950836874451, 1.5690346641121031, 1.5708007307133416]
OPENQASM 3.0;
include "stdgates.inc";
input float[64] phi;
bit[4] meas;
qubit[4] q;
ry(pi/2) q[0];
ry(pi/2) q[1];
ry(pi/2) q[2];
ry(pi/2) q[3];
rz(phi) q[0];
rz(phi) q[1];
rz(phi) q[2];
rz(phi) q[3];
rz(1.5690507136996232) q[0];
ry(-1.5707736022422603) q[0];
rz(-1.5725121208429849) q[1];
ry(-1.570780057013195) q[1];
rz(1.5690357559052408) q[2];
ry(1.5707950836874451) q[2];
rz(1.5690346641121031) q[3];
ry(1.5708007307133416) q[3];
barrier q[0], q[1], q[2], q[3];
meas[0] = measure q[0];
meas[1] = measure q[1];
meas[2] = measure q[2];
meas[3] = measure q[3];
