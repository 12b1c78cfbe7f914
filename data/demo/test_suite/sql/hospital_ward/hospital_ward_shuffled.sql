BEGIN TRANSACTION;
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
INSERT INTO "Appointment" VALUES(1,6,1,'2024-02-22',200.0,'Arrhythmia');
INSERT INTO "Appointment" VALUES(2,11,4,'2024-09-22',200.0,'Sprain');
INSERT INTO "Appointment" VALUES(3,6,10,'2024-09-25',150.0,'Sprain');
INSERT INTO "Appointment" VALUES(4,2,10,'2024-09-14',200.0,'Chemotherapy');
INSERT INTO "Appointment" VALUES(5,11,3,'2024-04-17',175.25,'Hypertension');
INSERT INTO "Appointment" VALUES(6,2,1,'2024-08-26',95.5,'Routine checkup');
INSERT INTO "Appointment" VALUES(7,12,1,'2024-05-16',120.0,'Routine checkup');
INSERT INTO "Appointment" VALUES(8,16,12,'2024-07-17',200.0,'Concussion');
INSERT INTO "Appointment" VALUES(9,6,2,'2024-06-28',120.0,'Fracture');
INSERT INTO "Appointment" VALUES(10,15,3,'2024-02-02',120.0,'Hypertension');
INSERT INTO "Appointment" VALUES(11,11,2,'2024-09-16',150.0,'Arrhythmia');
INSERT INTO "Appointment" VALUES(12,1,11,'2024-02-06',150.0,'Concussion');
INSERT INTO "Appointment" VALUES(13,12,12,'2024-05-07',80.0,'Chemotherapy');
INSERT INTO "Appointment" VALUES(14,10,7,'2024-08-10',175.25,'Chemotherapy');
INSERT INTO "Appointment" VALUES(15,5,8,'2024-01-25',175.25,'Routine checkup');
INSERT INTO "Appointment" VALUES(16,14,1,'2024-09-07',310.0,'Fracture');
INSERT INTO "Appointment" VALUES(17,13,8,'2024-06-03',120.0,'Follow-up');
INSERT INTO "Appointment" VALUES(18,8,6,'2024-01-16',240.0,'Fracture');
INSERT INTO "Appointment" VALUES(19,14,10,'2024-05-12',150.0,'Routine checkup');
INSERT INTO "Appointment" VALUES(20,13,3,'2024-07-01',310.0,'Concussion');
INSERT INTO "Appointment" VALUES(21,5,6,'2024-03-24',200.0,'Hypertension');
INSERT INTO "Appointment" VALUES(22,3,13,'2024-01-19',95.5,'Routine checkup');
INSERT INTO "Appointment" VALUES(23,16,1,'2024-07-14',95.5,'Concussion');
INSERT INTO "Appointment" VALUES(24,15,5,'2024-08-25',200.0,'Arrhythmia');
INSERT INTO "Appointment" VALUES(25,3,14,'2024-02-04',175.25,'Migraine');
INSERT INTO "Appointment" VALUES(26,11,8,'2024-02-20',310.0,'Arrhythmia');
INSERT INTO "Appointment" VALUES(27,12,4,'2024-01-08',175.25,'Fracture');
INSERT INTO "Appointment" VALUES(28,3,6,'2024-01-19',310.0,'Concussion');
INSERT INTO "Appointment" VALUES(29,17,13,'2024-02-01',240.0,'Migraine');
INSERT INTO "Appointment" VALUES(30,2,10,'2024-02-07',150.0,'Fracture');
CREATE TABLE "Department" (
  "Department_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Floor" INTEGER,
  "Budget" REAL
);
INSERT INTO "Department" VALUES(1,'Emergency',1,1980000.0);
INSERT INTO "Department" VALUES(2,'Dermatology',3,1210000.0);
INSERT INTO "Department" VALUES(3,'Neurology',3,640000.0);
INSERT INTO "Department" VALUES(4,'Radiology',1,1725000.0);
INSERT INTO "Department" VALUES(5,'Cardiology',2,3300000.0);
INSERT INTO "Department" VALUES(6,'Pediatrics',2,2450000.0);
INSERT INTO "Department" VALUES(7,'Oncology',5,1500000.0);
INSERT INTO "Department" VALUES(8,'Orthopedics',4,2900000.0);
CREATE TABLE "Doctor" (
  "Doctor_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Specialty" TEXT,
  "Department_ID" INTEGER,
  "Years_Practice" INTEGER,
  "Salary" REAL,
  FOREIGN KEY ("Department_ID") REFERENCES "Department"("Department_ID")
);
INSERT INTO "Doctor" VALUES(1,'Samir Qureshi','Cardiologist',1,9,165000.0);
INSERT INTO "Doctor" VALUES(2,'Henry Caldwell','Oncologist',2,7,340000.0);
INSERT INTO "Doctor" VALUES(3,'Anika Bose','Neurologist',7,NULL,230000.0);
INSERT INTO "Doctor" VALUES(4,'Rosa Delgado','Orthopedic Surgeon',4,22,285000.0);
INSERT INTO "Doctor" VALUES(5,'Mei Lin','Radiologist',2,8,150000.0);
INSERT INTO "Doctor" VALUES(6,'Victor Nunez','Dermatologist',8,2,310000.0);
INSERT INTO "Doctor" VALUES(7,'Omar Farouk','Emergency Physician',1,15,205000.0);
INSERT INTO "Doctor" VALUES(8,'Thomas Reed','Orthopedic Surgeon',6,13,190000.0);
INSERT INTO "Doctor" VALUES(9,'Grace Oyelaran','Pediatrician',3,18,295000.0);
INSERT INTO "Doctor" VALUES(10,'Alice Hammond','Cardiologist',4,25,225000.0);
INSERT INTO "Doctor" VALUES(11,'Lena Fischer','Radiologist',3,4,260000.0);
INSERT INTO "Doctor" VALUES(12,'Hannah Price','Pediatrician',8,10,180000.0);
INSERT INTO "Doctor" VALUES(13,'Bettina Kraus','Emergency Physician',5,11,175000.0);
INSERT INTO "Doctor" VALUES(14,'Joseph Mwangi','Neurologist',7,3,210000.0);
INSERT INTO "Doctor" VALUES(15,'Felix Moreau','Oncologist',5,6,240000.0);
CREATE TABLE "Patient" (
  "Patient_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Gender" TEXT,
  "City" TEXT,
  "Insurance" TEXT
);
INSERT INTO "Patient" VALUES(1,'Chloe Martin',47,'M','Brookvale','Northstar');
INSERT INTO "Patient" VALUES(2,'David Osei',34,'M','Lakeview',NULL);
INSERT INTO "Patient" VALUES(3,'Emily Chen',12,'M','Lakeview','Northstar');
INSERT INTO "Patient" VALUES(4,'Peter Novak',45,'M','Greenfield','Meridian Health');
INSERT INTO "Patient" VALUES(5,'Hannah Wolfe',55,'M','Greenfield',NULL);
INSERT INTO "Patient" VALUES(6,'Tariq Malik',52,'M','Lakeview','CarePlus');
INSERT INTO "Patient" VALUES(7,'Grace Kim',5,'F','Lakeview','Northstar');
INSERT INTO "Patient" VALUES(8,'Noah Fischer',31,'F','Greenfield','CarePlus');
INSERT INTO "Patient" VALUES(9,'Miguel Santos',66,'F','Port Alden','Meridian Health');
INSERT INTO "Patient" VALUES(10,'Isabel Cruz',19,'M','Lakeview','Northstar');
INSERT INTO "Patient" VALUES(11,'Samuel Idowu',8,'F','Lakeview','CarePlus');
INSERT INTO "Patient" VALUES(12,'Mia Kowalczyk',84,'F','Port Alden','CarePlus');
INSERT INTO "Patient" VALUES(13,'Lucy Palmer',23,'M','Brookvale','Meridian Health');
INSERT INTO "Patient" VALUES(14,'Walter Brooks',29,'F','Brookvale','Meridian Health');
INSERT INTO "Patient" VALUES(15,'Ahmed Hassan',58,'F','Lakeview','CarePlus');
INSERT INTO "Patient" VALUES(16,'Amelia Rossi',37,'M','Greenfield',NULL);
INSERT INTO "Patient" VALUES(17,'Jorge Alvarez',40,'F','Brookvale','Meridian Health');
INSERT INTO "Patient" VALUES(18,'Ruth Adler',16,'M','Port Alden','CarePlus');
INSERT INTO "Patient" VALUES(19,'Victor Lang',71,'F','Port Alden','Northstar');
INSERT INTO "Patient" VALUES(20,'Sara Jensen',63,'F','Greenfield','Meridian Health');
COMMIT;
