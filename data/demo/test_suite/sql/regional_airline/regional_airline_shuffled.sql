BEGIN TRANSACTION;
CREATE TABLE "Aircraft" (
  "Aircraft_ID" INTEGER PRIMARY KEY,
  "Model" TEXT,
  "Manufacturer" TEXT,
  "Seats" INTEGER,
  "Range_km" INTEGER
);
INSERT INTO "Aircraft" VALUES(1,'Condor C300','Northwind Works',120,2400);
INSERT INTO "Aircraft" VALUES(2,'SkyHopper 70','Northwind Works',19,5200);
INSERT INTO "Aircraft" VALUES(3,'Puffin Twin','Vantage Aero',19,3900);
INSERT INTO "Aircraft" VALUES(4,'Meridian M9','Vantage Aero',150,3100);
INSERT INTO "Aircraft" VALUES(5,'Puffin Twin','Aerolite',9,1300);
INSERT INTO "Aircraft" VALUES(6,'Heron 8','Aerolite',50,1300);
INSERT INTO "Aircraft" VALUES(7,'SkyHopper 50','Northwind Works',72,900);
INSERT INTO "Aircraft" VALUES(8,'Condor C200','Aerolite',96,1800);
CREATE TABLE "Airport" (
  "Airport_Code" TEXT PRIMARY KEY,
  "Name" TEXT,
  "City" TEXT,
  "Country" TEXT,
  "Elevation" INTEGER
);
INSERT INTO "Airport" VALUES('NRV','Baymouth Airport','Glenvale','United States',NULL);
INSERT INTO "Airport" VALUES('ELM','Ashgrove Field','Kestrel Ridge','United States',920);
INSERT INTO "Airport" VALUES('PKH','Northriver Regional','Wildmere','Canada',12);
INSERT INTO "Airport" VALUES('GLV','Kestrel Ridge Airfield','Stormont','United States',340);
INSERT INTO "Airport" VALUES('SRM','Calvin Point Airport','Pike Harbor','United States',605);
INSERT INTO "Airport" VALUES('BAY','Wildmere Airport','Baymouth','United States',1480);
INSERT INTO "Airport" VALUES('KTR','Stormont Municipal','Northriver','Canada',8);
INSERT INTO "Airport" VALUES('WLD','Pike Harbor Airport','Elmstead','Canada',27);
INSERT INTO "Airport" VALUES('ASH','Glenvale International','Calvin Point','Canada',95);
INSERT INTO "Airport" VALUES('CVN','Elmstead Field','Ashgrove','Canada',210);
CREATE TABLE "Flight" (
  "Flight_ID" INTEGER PRIMARY KEY,
  "Flight_Number" TEXT,
  "Origin_Code" TEXT,
  "Destination_Code" TEXT,
  "Aircraft_ID" INTEGER,
  "Pilot_ID" INTEGER,
  "Distance" INTEGER,
  "Price" REAL,
  FOREIGN KEY ("Origin_Code") REFERENCES "Airport"("Airport_Code"),
  FOREIGN KEY ("Destination_Code") REFERENCES "Airport"("Airport_Code"),
  FOREIGN KEY ("Aircraft_ID") REFERENCES "Aircraft"("Aircraft_ID"),
  FOREIGN KEY ("Pilot_ID") REFERENCES "Pilot"("Pilot_ID")
);
INSERT INTO "Flight" VALUES(1,'RA990','CVN','NRV',3,5,690,410.0);
INSERT INTO "Flight" VALUES(2,'RA211','BAY','ELM',4,3,150,415.0);
INSERT INTO "Flight" VALUES(3,'RA850','GLV','SRM',7,2,690,148.0);
INSERT INTO "Flight" VALUES(4,'RA991','NRV','GLV',3,8,320,389.0);
INSERT INTO "Flight" VALUES(5,'RA740','BAY','WLD',2,1,2480,175.0);
INSERT INTO "Flight" VALUES(6,'RA521','ELM','GLV',8,4,1210,99.0);
INSERT INTO "Flight" VALUES(7,'RA413','NRV','NRV',2,3,260,159.5);
INSERT INTO "Flight" VALUES(8,'RA101','WLD','PKH',1,6,410,129.0);
INSERT INTO "Flight" VALUES(9,'RA741','NRV','KTR',5,1,880,129.0);
INSERT INTO "Flight" VALUES(10,'RA102','GLV','NRV',4,4,150,189.0);
INSERT INTO "Flight" VALUES(11,'RA902','SRM','GLV',5,1,320,379.0);
INSERT INTO "Flight" VALUES(12,'RA412','KTR','NRV',4,2,2480,112.0);
INSERT INTO "Flight" VALUES(13,'RA960','NRV','ELM',8,9,1210,245.0);
INSERT INTO "Flight" VALUES(14,'RA961','GLV','NRV',1,10,410,210.0);
INSERT INTO "Flight" VALUES(15,'RA306','SRM','PKH',7,7,260,205.0);
INSERT INTO "Flight" VALUES(16,'RA631','GLV','BAY',3,8,470,239.0);
INSERT INTO "Flight" VALUES(17,'RA520','ELM','WLD',2,3,540,189.0);
INSERT INTO "Flight" VALUES(18,'RA903','NRV','BAY',4,9,540,159.5);
INSERT INTO "Flight" VALUES(19,'RA305','PKH','GLV',5,5,880,99.0);
INSERT INTO "Flight" VALUES(20,'RA851','BAY','SRM',2,6,2150,112.0);
INSERT INTO "Flight" VALUES(21,'RA630','WLD','BAY',3,9,2150,175.0);
INSERT INTO "Flight" VALUES(22,'RA210','PKH','CVN',6,7,470,NULL);
CREATE TABLE "Pilot" (
  "Pilot_ID" INTEGER PRIMARY KEY,
  "Name" TEXT,
  "Age" INTEGER,
  "Rank" TEXT,
  "Flight_Hours" INTEGER
);
INSERT INTO "Pilot" VALUES(1,'Henrik Dahl',51,'First Officer',12400);
INSERT INTO "Pilot" VALUES(2,'Sofia Ruiz',39,'Second Officer',22500);
INSERT INTO "Pilot" VALUES(3,'Naomi Clarke',47,'First Officer',4300);
INSERT INTO "Pilot" VALUES(4,'Evan Doyle',31,'Captain',9800);
INSERT INTO "Pilot" VALUES(5,'Lea Moreau',33,'First Officer',1200);
INSERT INTO "Pilot" VALUES(6,'Marco Bellini',44,'First Officer',18900);
INSERT INTO "Pilot" VALUES(7,'Raj Patel',36,'Captain',5200);
INSERT INTO "Pilot" VALUES(8,'Julia Strand',27,'Captain',2100);
INSERT INTO "Pilot" VALUES(9,'Owen Pryce',58,'Captain',15100);
INSERT INTO "Pilot" VALUES(10,'Keiko Tanaka',29,'Captain',3700);
COMMIT;
