PRAGMA foreign_keys = ON;
BEGIN TRANSACTION;
CREATE TABLE "Department" (
  "Department_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Floor" INTEGER,
  "Budget" REAL
);
CREATE TABLE "Doctor" (
  "Doctor_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Specialty" TEXT,
  "Department_ID" INTEGER,
  "Years_Practice" INTEGER,
  "Salary" REAL,
  FOREIGN KEY ("Department_ID") REFERENCES "Department"("Department_ID")
);
CREATE TABLE "Patient" (
  "Patient_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Gender" TEXT,
  "City" TEXT,
  "Insurance" TEXT
);
CREATE TABLE "Appointment" (
  "Appointment_ID" INTEGER PRIMARY KEY,
  "Patient_ID" INTEGER,
  "Doctor_ID" INTEGER,
  "Visit_Date" DATE,
  "Fee" REAL,
  "Diagnosis" TEXT,
  FOREIGN KEY ("Patient_ID") REFERENCES "Patient"("Patient_ID"),
  FOREIGN KEY ("Doctor_ID") REFERENCES "Doctor"("Doctor_ID")
);
INSERT INTO "Department" VALUES (1, 'Cardiology', 3, 2450000.0);
INSERT INTO "Department" VALUES (2, 'Neurology', 4, 1980000.0);
INSERT INTO "Department" VALUES (3, 'Pediatrics', 2, 1500000.0);
INSERT INTO "Department" VALUES (4, 'Orthopedics', 3, 1725000.0);
INSERT INTO "Department" VALUES (5, 'Oncology', 5, 2900000.0);
INSERT INTO "Department" VALUES (6, 'Dermatology', 1, 640000.0);
INSERT INTO "Department" VALUES (7, 'Emergency', 1, 3300000.0);
INSERT INTO "Department" VALUES (8, 'Radiology', 2, 1210000.0);
INSERT INTO "Doctor" VALUES (1, 'Alice Hammond', 'Cardiologist', 1, 18, 285000.0);
INSERT INTO "Doctor" VALUES (2, 'Samir Qureshi', 'Cardiologist', 1, 7, 210000.0);
INSERT INTO "Doctor" VALUES (3, 'Bettina Kraus', 'Neurologist', 2, 22, 310000.0);
INSERT INTO "Doctor" VALUES (4, 'Joseph Mwangi', 'Pediatrician', 3, 11, 190000.0);
INSERT INTO "Doctor" VALUES (5, 'Rosa Delgado', 'Pediatrician', 3, 4, 165000.0);
INSERT INTO "Doctor" VALUES (6, 'Henry Caldwell', 'Orthopedic Surgeon', 4, 15, 295000.0);
INSERT INTO "Doctor" VALUES (7, 'Mei Lin', 'Oncologist', 5, 9, 260000.0);
INSERT INTO "Doctor" VALUES (8, 'Victor Nunez', 'Oncologist', 5, 25, 340000.0);
INSERT INTO "Doctor" VALUES (9, 'Grace Oyelaran', 'Dermatologist', 6, 6, 175000.0);
INSERT INTO "Doctor" VALUES (10, 'Thomas Reed', 'Emergency Physician', 7, 13, 230000.0);
INSERT INTO "Doctor" VALUES (11, 'Anika Bose', 'Emergency Physician', 7, 3, 180000.0);
INSERT INTO "Doctor" VALUES (12, 'Felix Moreau', 'Radiologist', 8, 10, 240000.0);
INSERT INTO "Doctor" VALUES (13, 'Hannah Price', 'Neurologist', 2, 8, 225000.0);
INSERT INTO "Doctor" VALUES (14, 'Omar Farouk', 'Orthopedic Surgeon', 4, NULL, 205000.0);
INSERT INTO "Doctor" VALUES (15, 'Lena Fischer', 'Radiologist', 8, 2, 150000.0);
INSERT INTO "Patient" VALUES (1, 'Walter Brooks', 71, 'M', 'Lakeview', 'Meridian Health');
INSERT INTO "Patient" VALUES (2, 'Sara Jensen', 34, 'F', 'Port Alden', 'CarePlus');
INSERT INTO "Patient" VALUES (3, 'Miguel Santos', 8, 'M', 'Greenfield', 'Northstar');
INSERT INTO "Patient" VALUES (4, 'Emily Chen', 45, 'F', 'Lakeview', 'CarePlus');
INSERT INTO "Patient" VALUES (5, 'Ahmed Hassan', 58, 'M', 'Brookvale', NULL);
INSERT INTO "Patient" VALUES (6, 'Lucy Palmer', 12, 'F', 'Greenfield', 'Meridian Health');
INSERT INTO "Patient" VALUES (7, 'Noah Fischer', 29, 'M', 'Port Alden', 'Northstar');
INSERT INTO "Patient" VALUES (8, 'Grace Kim', 63, 'F', 'Lakeview', 'Meridian Health');
INSERT INTO "Patient" VALUES (9, 'David Osei', 40, 'M', 'Greenfield', 'CarePlus');
INSERT INTO "Patient" VALUES (10, 'Isabel Cruz', 52, 'F', 'Brookvale', 'Northstar');
INSERT INTO "Patient" VALUES (11, 'Peter Novak', 19, 'M', 'Lakeview', NULL);
INSERT INTO "Patient" VALUES (12, 'Ruth Adler', 84, 'F', 'Port Alden', 'Meridian Health');
INSERT INTO "Patient" VALUES (13, 'Tariq Malik', 37, 'M', 'Greenfield', 'CarePlus');
INSERT INTO "Patient" VALUES (14, 'Hannah Wolfe', 5, 'F', 'Lakeview', 'Northstar');
INSERT INTO "Patient" VALUES (15, 'Jorge Alvarez', 66, 'M', 'Brookvale', 'Meridian Health');
INSERT INTO "Patient" VALUES (16, 'Mia Kowalczyk', 23, 'F', 'Port Alden', 'CarePlus');
INSERT INTO "Patient" VALUES (17, 'Samuel Idowu', 47, 'M', 'Lakeview', 'Northstar');
INSERT INTO "Patient" VALUES (18, 'Chloe Martin', 31, 'F', 'Greenfield', NULL);
INSERT INTO "Patient" VALUES (19, 'Victor Lang', 55, 'M', 'Brookvale', 'CarePlus');
INSERT INTO "Patient" VALUES (20, 'Amelia Rossi', 16, 'F', 'Lakeview', 'Meridian Health');
INSERT INTO "Appointment" VALUES (1, 8, 4, '2024-05-16', 120.0, 'Routine checkup');
INSERT INTO "Appointment" VALUES (2, 16, 13, '2024-08-10', 95.5, 'Concussion');
INSERT INTO "Appointment" VALUES (3, 10, 10, '2024-09-16', 80.0, 'Concussion');
INSERT INTO "Appointment" VALUES (4, 11, 6, '2024-09-25', 150.0, 'Fracture');
INSERT INTO "Appointment" VALUES (5, 11, 1, '2024-05-07', 95.5, 'Arrhythmia');
INSERT INTO "Appointment" VALUES (6, 11, 3, '2024-04-17', 175.25, 'Concussion');
INSERT INTO "Appointment" VALUES (7, 12, 1, '2024-09-22', 175.25, 'Arrhythmia');
INSERT INTO "Appointment" VALUES (8, 6, 10, '2024-02-02', 200.0, 'Fracture');
INSERT INTO "Appointment" VALUES (9, 5, 2, '2024-02-04', 200.0, 'Hypertension');
INSERT INTO "Appointment" VALUES (10, 14, 1, '2024-05-12', 150.0, 'Hypertension');
INSERT INTO "Appointment" VALUES (11, 15, 10, '2024-08-26', 200.0, 'Concussion');
INSERT INTO "Appointment" VALUES (12, 16, 7, '2024-02-01', 310.0, 'Chemotherapy');
INSERT INTO "Appointment" VALUES (13, 12, 10, '2024-02-22', 150.0, 'Fracture');
INSERT INTO "Appointment" VALUES (14, 15, 14, '2024-06-28', 120.0, 'Sprain');
INSERT INTO "Appointment" VALUES (15, 2, 12, '2024-02-20', 175.25, 'Routine checkup');
INSERT INTO "Appointment" VALUES (16, 14, 6, '2024-09-14', 175.25, 'Sprain');
INSERT INTO "Appointment" VALUES (17, 13, 12, '2024-01-25', 240.0, 'Routine checkup');
INSERT INTO "Appointment" VALUES (18, 6, 8, '2024-02-06', 200.0, 'Chemotherapy');
INSERT INTO "Appointment" VALUES (19, 12, 4, '2024-07-14', 200.0, 'Routine checkup');
INSERT INTO "Appointment" VALUES (20, 2, 13, '2024-01-08', 310.0, 'Migraine');
INSERT INTO "Appointment" VALUES (21, 3, 6, '2024-02-07', 150.0, 'Fracture');
INSERT INTO "Appointment" VALUES (22, 3, 2, '2024-01-19', 240.0, 'Arrhythmia');
INSERT INTO "Appointment" VALUES (23, 5, 1, '2024-07-01', 95.5, 'Hypertension');
INSERT INTO "Appointment" VALUES (24, 2, 11, '2024-01-19', 150.0, 'Fracture');
INSERT INTO "Appointment" VALUES (25, 11, 3, '2024-06-03', 310.0, 'Concussion');
INSERT INTO "Appointment" VALUES (26, 1, 1, '2024-01-16', 175.25, 'Arrhythmia');
INSERT INTO "Appointment" VALUES (27, 17, 8, '2024-03-24', 200.0, 'Follow-up');
INSERT INTO "Appointment" VALUES (28, 13, 8, '2024-08-25', 310.0, 'Chemotherapy');
INSERT INTO "Appointment" VALUES (29, 3, 5, '2024-09-07', 120.0, 'Routine checkup');
INSERT INTO "Appointment" VALUES (30, 6, 3, '2024-07-17', 120.0, 'Migraine');
COMMIT;
